"""The small part of LocalStack's test toolkit the recorded sequences use, over the emulator.

The sequences in `third_party/sequences_*.py` are LocalStack's AWS-validated tests (Apache-2.0,
https://github.com/localstack/localstack), kept as close to the original as possible so that the call sequence
is the one AWS answered; this module gives them the fixtures and helpers they call. The functions those tests
deploy are Python; here each is the Node equivalent in `functions/` (same input, same output), because
lambda-canary runs Node runtimes only.
"""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests as _requests
from botocore.config import Config

from conformance.harness import REGION, AwsClient, fixture

ACCOUNT_ID = "123456789012"  # the emulator's account
FUNCTIONS = Path(__file__).resolve().parent / "functions"
NODE_RUNTIME = "nodejs22.x"

# LocalStack's handler constants, mapped to the Node equivalents in functions/.
TEST_LAMBDA_AWS_PROXY = "lambda_aws_proxy.js"  # tests/aws/services/lambda_/functions/lambda_aws_proxy.py
LAMBDA_RESPONSE_FROM_BODY = "response_from_body.js"  # LAMBDA_RESPONSE_FROM_BODY in test_apigateway_lambda.py
TEST_LAMBDA_PYTHON_ECHO = "echo.js"  # tests/aws/services/lambda_/functions/lambda_echo.py
TEST_LAMBDA_PYTHON = "integration.js"  # tests/aws/services/lambda_/functions/lambda_integration.py
APIGATEWAY_ASSUME_ROLE_POLICY = {
    "Statement": {"Sid": "", "Effect": "Allow", "Principal": {"Service": "apigateway.amazonaws.com"},
                  "Action": "sts:AssumeRole"}}


class Runtime:
    """LocalStack's Runtime enum: every runtime the recordings name runs here as Node 22."""

    python3_12 = NODE_RUNTIME
    python3_9 = NODE_RUNTIME
    python3_10 = NODE_RUNTIME
    python3_8 = "nodejs18.x"
    python3_11 = "nodejs18.x"  # another installed runtime: the recordings update python3.12 -> python3.11
    python3_13 = NODE_RUNTIME
    nodejs20_x = "nodejs20.x"


def short_uid() -> str:
    return uuid.uuid4().hex[:8]


def retry(function: Callable[..., Any], retries: int = 3, sleep: float = 1.0, **kwargs: Any) -> Any:
    """LocalStack retries against AWS's eventual consistency; the emulator is consistent: one call."""
    return function(**kwargs)


def is_aws_cloud() -> bool:
    return False


def is_next_gen_api() -> bool:
    return True


def api_invoke_url(api_id: str, stage: str = "", path: str = "/") -> str:
    """AWS's invoke URL for an API; `requests` below sends it to the emulator with that Host."""
    return f"https://{api_id}.execute-api.{REGION}.amazonaws.com/{stage}{path}"


class SortingTransformer:
    """LocalStack's SortingTransformer: sort the list under `key` before comparing (the recording is sorted)."""

    def __init__(self, key: str, sorting_fn: Callable[[Any], Any] | None = None) -> None:
        self.key = key
        self.sorting_fn = sorting_fn

    def apply(self, value: Any) -> Any:
        if isinstance(value, dict):
            out = {}
            for key, item in value.items():
                item = self.apply(item)
                if key == self.key and isinstance(item, list):
                    item = sorted(item, key=self.sorting_fn)
                out[key] = item
            return out
        if isinstance(value, list):
            return [self.apply(item) for item in value]
        return value


class _Requests:
    """`requests` as the sequences call it, aimed at the emulator: AWS's invoke URL becomes a request to the
    emulator's port with the API's execute-api host name as Host (no port, as on AWS)."""

    endpoint = ""

    def _send(self, method: str, url: str, headers: dict[str, str] | None = None, **kwargs: Any) -> Any:
        parts = urlsplit(url)
        api_id = parts.hostname.split(".", 1)[0] if parts.hostname else ""
        local = urlsplit(self.endpoint)
        target = urlunsplit((local.scheme, local.netloc, parts.path, parts.query, parts.fragment))
        kwargs.pop("verify", None)
        session = _requests.Session()
        prepared = session.prepare_request(_requests.Request(method, target, headers=dict(headers or {}), **kwargs))
        prepared.headers["Host"] = f"{api_id}.execute-api.localhost"
        return session.send(prepared, timeout=60)

    def get(self, url: str, **kwargs: Any) -> Any:
        return self._send("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> Any:
        return self._send("POST", url, **kwargs)

    def request(self, method: str, url: str, **kwargs: Any) -> Any:
        return self._send(method, url, **kwargs)


requests = _Requests()


def function_zip(handler_file: str, module: str = "handler") -> bytes:
    """A deployment package with functions/<handler_file> as <module>.js and as index.js (LocalStack's archives
    name the file after LocalStack's default handler, `handler.handler`; some tests then say `index.handler`)."""
    buffer = io.BytesIO()
    code = (FUNCTIONS / handler_file).read_text()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(f"{module}.js", code)
        if module != "index":
            archive.writestr("index.js", code)
    return buffer.getvalue()


# ---- fixtures ------------------------------------------------------------------------------------------
@fixture
def account_id() -> str:
    return ACCOUNT_ID


@fixture
def region_name() -> str:
    return REGION


@fixture
def partition() -> str:
    return "aws"


@fixture
def apigw_add_transformers() -> None:
    return None


@fixture
def aws_client_factory(endpoint: str) -> Callable[..., AwsClient]:
    def factory(config: Config | None = None, region_name: str | None = None) -> AwsClient:
        return AwsClient(endpoint, config=config)

    requests.endpoint = endpoint
    return factory


@fixture
def create_rest_apigw(aws_client: AwsClient, endpoint: str) -> Callable[..., tuple[str, str, str]]:
    requests.endpoint = endpoint

    def create(**kwargs: Any) -> tuple[str, str, str]:
        kwargs.pop("region_name", None)
        kwargs.setdefault("name", f"api-{short_uid()}")
        response = aws_client.apigateway.create_rest_api(**kwargs)
        return response["id"], response["name"], response["rootResourceId"]

    return create


@fixture
def apigw_create_rest_api(aws_client: AwsClient) -> Callable[..., dict[str, Any]]:
    def create(**kwargs: Any) -> dict[str, Any]:
        return aws_client.apigateway.create_rest_api(**kwargs)

    return create


@fixture
def create_role_with_policy() -> Callable[..., tuple[str, str]]:
    """No IAM here: a role ARN that names a role, as API Gateway integrations carry it."""

    def create(effect: str, actions: str, assume_policy_doc: str, resource: str,
               attach: bool = True) -> tuple[str, str]:
        name = f"role-{short_uid()}"
        return name, f"arn:aws:iam::{ACCOUNT_ID}:role/{name}"

    return create


@fixture
def lambda_su_role() -> str:
    return f"arn:aws:iam::{ACCOUNT_ID}:role/lambda-test-role-{short_uid()}"


@fixture
def create_lambda_function(aws_client: AwsClient, lambda_su_role: str) -> Callable[..., dict[str, Any]]:
    """LocalStack's create_lambda_function: CreateFunction, then wait until Active (the waiter)."""

    def create(*, func_name: str | None = None, handler_file: str = TEST_LAMBDA_PYTHON_ECHO,
               handler: str | None = None, runtime: str = NODE_RUNTIME, role: str | None = None,
               timeout: int | None = None, envvars: dict[str, str] | None = None,
               tags: dict[str, str] | None = None, zip_file: bytes | None = None, **kwargs: Any) -> dict[str, Any]:
        # localstack-core/localstack/utils/testutil.py::create_lambda_function, its defaults included
        kwargs.pop("client", None)
        name = func_name or f"test-function-{short_uid()}"
        handler = handler or "handler.handler"
        arguments = {"FunctionName": name, "Runtime": runtime, "Handler": handler, "Role": role or lambda_su_role,
                     "Code": {"ZipFile": zip_file or function_zip(handler_file, handler.rsplit(".", 1)[0])},
                     "Timeout": timeout or 30, "Environment": {"Variables": envvars or {}}, "Tags": tags or {}}
        arguments.update(kwargs)
        response = aws_client.lambda_.create_function(**arguments)
        aws_client.lambda_.get_waiter("function_active_v2").wait(FunctionName=name)
        return {"CreateFunctionResponse": response, "CreateEventSourceMappingResponse": None}

    return create


def dumps(value: Any) -> str:
    return json.dumps(value)
