"""The boto3 session and clients a deploy uses, and what kind of target answers them."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from emulator.deploy.errors import NO_CREDENTIALS, Call, explain
from emulator.errors import UserError

HEALTH_PATH = "/_lambda_canary/health"
AWS_HOST_SUFFIXES = (".amazonaws.com", ".amazonaws.com.cn", ".api.aws", ".c2s.ic.gov", ".sc2s.sgov.gov")
# Standard retry mode: exponential backoff with jitter on throttling and transient errors.
RETRY_CONFIG = Config(retries={"mode": "standard", "max_attempts": 6}, connect_timeout=10, read_timeout=60,
                      user_agent_extra="lambda-canary")
READ_PREFIXES = ("Get", "List", "Describe", "Head")

TargetKind = Literal["aws", "emulator"]


def is_mutating(operation: str) -> bool:
    """Does an AWS operation change anything? (Get*/List*/Describe* do not.)"""
    return not operation.startswith(READ_PREFIXES)


def probe_emulator(endpoint: str, timeout: float = 2.0) -> bool:
    """True when `endpoint` is a lambda-canary emulator: GET /_lambda_canary/health answers {"status": "ok"}."""
    try:
        with urllib.request.urlopen(endpoint.rstrip("/") + HEALTH_PATH, timeout=timeout) as response:
            return bool(json.loads(response.read() or b"null") == {"status": "ok"})
    except (urllib.error.URLError, OSError, ValueError):
        return False


def is_aws_endpoint(url: str) -> bool:
    """An endpoint on an AWS domain."""
    host = urlsplit(url).hostname or ""
    return host.endswith(AWS_HOST_SUFFIXES)


@dataclass
class Target:
    """Where a deploy goes: a boto3 session with its region, account, kind and the last call made."""

    session: boto3.Session
    region: str
    kind: TargetKind
    endpoint: str | None
    account_id: str
    last_call: Call | None = None
    _clients: dict[str, Any] = field(default_factory=dict)

    @property
    def is_aws(self) -> bool:
        """Does the target enforce AWS's rules (real AWS, or an AWS stand-in such as moto)?"""
        return self.kind == "aws"

    def client(self, service: str) -> Any:
        """A cached client with standard retries."""
        if service not in self._clients:
            self._clients[service] = self.session.client(service, region_name=self.region, config=RETRY_CONFIG)
        return self._clients[service]

    def describe(self) -> str:
        """One line naming the target."""
        where = f"{self.region}, account {self.account_id}"
        if self.kind == "emulator":
            return f"lambda-canary emulator at {self.endpoint} ({where})"
        if self.endpoint and not is_aws_endpoint(self.endpoint):
            return f"AWS-compatible endpoint {self.endpoint}, treated as AWS ({where})"
        return f"AWS ({where})"

    def explain(self, error: BaseException) -> UserError | None:
        """The one-line UserError for a failure of the last call."""
        return explain(error, self.last_call)

    def _record_call(self, model: Any = None, **_: Any) -> None:
        self.last_call = Call(model.service_model.signing_name, model.name, model.http.get("method", "POST"))


def open_target(profile: str | None = None, region: str | None = None, *, default_region: str = "us-east-1",
                default_account: str = "123456789012") -> Target:
    """A session from the default chain (AWS_PROFILE / --profile, env keys, SSO, instance role), its region
    (--region, else the profile's or AWS_REGION, else the config's) and endpoint (AWS_ENDPOINT_URL honoured)."""
    try:
        session = boto3.Session(profile_name=profile)
        credentials = session.get_credentials()
    except BotoCoreError as error:
        raise explain(error) or UserError(str(error)) from None
    if credentials is None:
        raise UserError(NO_CREDENTIALS)
    region = region or session.region_name or default_region
    endpoint = session.client("lambda", region_name=region).meta.endpoint_url
    custom = endpoint if not is_aws_endpoint(endpoint) else None
    kind: TargetKind = "emulator" if custom and probe_emulator(custom) else "aws"
    target = Target(session, region, kind, custom, default_account)
    session.events.register("before-call.*.*", target._record_call)
    if kind == "aws":
        try:
            target.account_id = target.client("sts").get_caller_identity()["Account"]
        except (ClientError, BotoCoreError) as error:
            raise target.explain(error) or UserError(str(error)) from None
    return target
