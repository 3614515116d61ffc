"""The Lambda (2015-03-31) control-plane API over the LambdaService: functions from zip uploads, code and
configuration updates, versions, weighted aliases, resource policies, tags and Invoke, with AWS's shapes and
error messages. Served by `RestJsonService("lambda", LambdaApi(...))`.

Function states as AWS has them (emulator/lambda_service/states.py): CreateFunction answers `Pending` and prepares
the function (image pull or build, runtime check) in the background, then `Active` with a new RevisionId; an update
answers `LastUpdateStatus: InProgress` while the new snapshot prepares and the previous one keeps serving, then
`Successful` (its environments retired) or `Failed` (the previous snapshot keeps serving). Published versions keep
their own snapshot (code folder, runtime, settings).
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import functools
import hashlib
import json
import re
import shutil
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from emulator import code_tree
from emulator.control_plane.protocol import AwsError, RawResponse
from emulator.errors import UserError
from emulator.function_rules import reserved_variables_error
from emulator.lambda_service.errors import (
    LambdaApiError,
    check_invocation_type,
    function_not_found,
    validation_error,
)
from emulator.lambda_service.model import FunctionVersion, decode_client_context
from emulator.lambda_service.service import (
    ANY_QUALIFIER,
    LATEST,
    Alias,
    FunctionRecord,
    LambdaService,
    PolicyStatement,
    with_revision,
)
from emulator.lambda_service.states import (
    FunctionState,
    active,
    check_changeable,
    creating,
    failed,
    failure_code,
    hold_if_asked,
    updating,
)
from emulator.runtimes.catalogue import RuntimeSpec, catalogue

T = TypeVar("T")
Operation = Callable[["LambdaApi", dict[str, Any]], Awaitable[Any]]

DEFAULT_TIMEOUT = 3
DEFAULT_MEMORY = 128
MAX_UNZIPPED_BYTES = 262_144_000  # 250 MB, Lambda's limit for an unzipped deployment package
MAX_ENVIRONMENT_BYTES = 4096
MAX_TAGS = 50
TAIL_BYTES = 4096
TAIL_LINE_HEAD = 128  # characters of a long line kept for LogType=Tail besides its last TAIL_BYTES
RECENT_LOG_LINES = 1000  # per function, for LogType=Tail
PAGE_SIZE = 50
BAD_ZIP = "Could not unzip uploaded file. Please check your file, then try to upload again."
REVISION_MISMATCH = ("The Revision Id provided does not match the latest Revision Id. "
                     "Call the {api} API to retrieve the latest Revision Id")
# Who may be granted: *, an account, an ARN, or an AWS service principal (recorded: AWS refuses
# "invalid.nonaws.com" in test_lambda_api.py::TestLambdaPermissions::test_permission_exceptions)
_PRINCIPAL = re.compile(r"\*|\d{12}|arn:.+|[a-z0-9][a-z0-9.-]*\.amazon(aws)?\.com(\.cn)?")
_CONDITION_KEYS = {"SourceAccount": "AWS:SourceAccount", "EventSourceToken": "lambda:EventSourceToken",
                   "PrincipalOrgID": "aws:PrincipalOrgID", "FunctionUrlAuthType": "lambda:FunctionUrlAuthType"}
_FUNCTION_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")
_ALIAS_NAME = re.compile(r"(?!^[0-9]+$)[a-zA-Z0-9_-]{1,128}")
_STATEMENT_ID = re.compile(r"[a-zA-Z0-9_.-]{1,100}")
_ACTION = re.compile(r"(lambda:[*]|lambda:[a-zA-Z]+|[*])")
_HEX_SHA = re.compile(r"[0-9a-f]{64}")
_REQUEST_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_CREATE_HANDLED = frozenset({"FunctionName", "Runtime", "Role", "Handler", "Code", "Description", "Timeout",
                             "MemorySize", "Publish", "PackageType", "Environment", "Tags", "Architectures"})
_UPDATE_CONFIG_HANDLED = frozenset({"FunctionName", "Role", "Handler", "Description", "Timeout", "MemorySize",
                                    "Environment", "Runtime", "RevisionId"})
_UPDATE_CODE_HANDLED = frozenset({"FunctionName", "ZipFile", "Publish", "DryRun", "RevisionId", "Architectures"})
# The runtimes AWS lists when it refuses one, in its order (recorded: LocalStack's AWS-validated
# test_lambda_api.py::TestLambdaFunction::test_create_lambda_exceptions, localstack/localstack@8b9a79f).
AWS_RUNTIMES = ("nodejs20.x", "python3.14", "provided.al2023", "python3.12", "python3.13", "nodejs24.x", "nodejs22.x",
                "java25", "python3.10", "python3.11", "java21", "ruby3.3", "ruby3.4", "ruby3.2", "python3.8",
                "python3.9", "java17", "nodejs16.x", "dotnet10", "dotnet8", "java11", "dotnet6", "nodejs18.x",
                "provided.al2", "java8.al2")
_LIST_ONLY_OMITS = ("RuntimeVersionConfig", "State", "StateReason", "StateReasonCode", "LastUpdateStatus",
                    "LastUpdateStatusReason", "LastUpdateStatusReasonCode")


# ---- errors ---------------------------------------------------------------------------------
@functools.cache
def _message_key(code: str) -> str:
    """The body member that carries the message for an error type: Lambda's model spells it `Message` for some
    (ResourceNotFoundException) and `message` for others (InvalidParameterValueException...), and AWS sends it
    so (recorded: LocalStack's AWS-validated tests/aws/services/lambda_/test_lambda_api.snapshot.json)."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("lambda")
    for shape in model.error_shapes:
        if shape.name == code:
            return "Message" if "Message" in shape.members else "message"
    return "message"


def error_body(code: str, message: str, extra: dict[str, str] | None = None, *,
               user: bool = True) -> dict[str, str]:
    """A Lambda error body as AWS sends it: `Type` (User) and the message under the model's member name."""
    body = {"Type": "User"} if user else {}
    return {**body, _message_key(code): message, **(extra or {})}


def _error(code: str, message: str, status: int = 400, *, user: bool = True) -> AwsError:
    """A Lambda error: x-amzn-ErrorType plus AWS's body."""
    return AwsError(code, message, status, body=error_body(code, message, user=user))


def _invalid(message: str) -> AwsError:
    return _error("InvalidParameterValueException", message)


def _not_found(message: str) -> AwsError:
    return _error("ResourceNotFoundException", message, 404)


def _conflict(message: str) -> AwsError:
    return _error("ResourceConflictException", message, 409)


def _validation(value: object, member: str, constraint: str) -> AwsError:
    error = validation_error(value, member, constraint)
    return _error(error.code, error.message)


def _operation(method: Operation) -> Operation:
    """Answer the service's LambdaApiError (not found, throttled...) as the AwsError it stands for."""

    @functools.wraps(method)
    async def wrapper(self: LambdaApi, params: dict[str, Any]) -> Any:
        try:
            return await method(self, params)
        except LambdaApiError as error:
            raise AwsError(error.code, error.message, error.status,
                           body=error_body(error.code, error.message, error.extra)) from None

    return wrapper


# ---- helpers ----------------------------------------------------------------------------------
def _new_id() -> str:
    return str(uuid.uuid4())


def _now() -> str:
    """AWS's LastModified form: 2024-01-01T00:00:00.000+0000."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def runtime_version_arn(version: FunctionVersion) -> str:
    """RuntimeVersionConfig.RuntimeVersionArn: AWS's form (`arn:aws:lambda:REGION::runtime:<64 hex>`), the hash
    standing for the exact runtime release lambda-canary runs (runtime name and Node version)."""
    digest = hashlib.sha256(f"{version.runtime.name}/{version.runtime.node}".encode()).hexdigest()
    return f"arn:aws:lambda:{version.region}::runtime:{digest}"


def aws_sha256(value: str) -> str:
    """CodeSha256 as AWS shows it (base64); config functions carry a hex digest of their folder."""
    return base64.b64encode(bytes.fromhex(value)).decode() if _HEX_SHA.fullmatch(value) else value


def _folder_size(folder: Path) -> int:
    if not folder.is_dir():
        return 0
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def _fingerprint(version: FunctionVersion, role: str) -> str:
    """What PublishVersion compares: code and configuration."""
    return json.dumps([version.code_sha256, version.runtime.name, version.handler, version.memory_size,
                       version.timeout, sorted(version.environment.items()), version.description, role])


def unpack_zip(data: bytes, target: Path) -> None:
    """Unzip a deployment package into `target` (created here) with emulator.code_tree's rules: nothing is written
    through a link and no link leads out; anything else is Lambda's InvalidParameterValueException naming the entry.

    AWS's wording for a package with a bad entry is not recorded; the answer keeps Lambda's bad-zip message and
    names the entry after it.
    """
    try:
        code_tree.unpack_zip(data, target, MAX_UNZIPPED_BYTES)
    except code_tree.PackageTooLarge as error:
        raise _invalid(error.reason) from None
    except code_tree.NotAZip:
        raise _invalid(BAD_ZIP) from None
    except code_tree.UnsafePackage as error:
        raise _invalid(f"{BAD_ZIP} (lambda-canary: {error})") from None


@dataclass
class SnapshotInfo:
    """What the API shows about one snapshot beyond its FunctionVersion."""

    revision: int  # the FunctionVersion.revision this describes
    role: str
    code_size: int
    last_modified: str = field(default_factory=_now)
    revision_id: str = field(default_factory=_new_id)
    published_from: str | None = None  # for a published version: the $LATEST fingerprint it was made from
    environment_given: bool = False  # AWS shows `Environment` (even empty) once one was set


class LambdaApi:
    """The Lambda control-plane operations over a LambdaService (one method per operation).

    `code_root` holds uploaded code, one folder per function and package digest. `warn` receives notes about
    things AWS would refuse or that lambda-canary ignores. State for a future `--state-dir`: `to_dict` /
    `from_dict` (functions created through the API; config functions come back from the config).
    """

    def __init__(self, service: LambdaService, code_root: Path, warn: Callable[[str], None], *,
                 today: Callable[[], dt.date] = _today) -> None:
        self.service = service
        self.code_root = code_root
        self.warn = warn
        self._today = today
        self._info: dict[str, dict[str, SnapshotInfo]] = {}
        self._next_version: dict[str, int] = {}
        self._preparations: set[asyncio.Task[None]] = set()
        self.on_change: Callable[[], None] | None = None  # called after a state transition (to save the state)
        self._recent: dict[str, deque[str]] = {}
        self._policy_revisions: dict[tuple[str, str | None], str] = {}  # (function, qualifier) -> RevisionId
        self._tee_logs()

    # ---- functions ---------------------------------------------------------------------------
    @_operation
    async def CreateFunction(self, params: dict[str, Any]) -> dict[str, Any]:
        """Create a function from a zip; Publish=true also publishes version 1."""
        name = self._new_function_name(params["FunctionName"])
        if params.get("PackageType", "Zip") != "Zip":
            raise _invalid("lambda-canary runs Zip functions only; PackageType Image is not supported")
        if not params.get("Runtime") or not params.get("Handler"):
            raise _invalid("Runtime and Handler are mandatory parameters for functions created with deployment "
                           "packages.")
        runtime = self._runtime(params["Runtime"])
        zip_file = params["Code"].get("ZipFile")
        if not zip_file:
            raise _invalid("lambda-canary accepts function code as Code.ZipFile only (S3Bucket/S3Key and "
                           "ImageUri are not supported)")
        timeout, memory = self._limits(params.get("Timeout", DEFAULT_TIMEOUT), params.get("MemorySize",
                                                                                            DEFAULT_MEMORY))
        environment = self._environment(params.get("Environment"))
        if runtime.blocks_create(self._today()):
            self.warn(f"CreateFunction {name}: AWS has refused to create {runtime.name} functions since "
                      f"{runtime.block_create}; lambda-canary creates it anyway, standing for a function "
                      "created before the block")
        self._warn_ignored("CreateFunction", name, params, _CREATE_HANDLED)
        self._warn_architectures(name, params.get("Architectures"))
        code_dir, sha = await self._store_code(name, zip_file)
        if name in self.service.functions:  # created meanwhile
            raise _conflict(f"Function already exist: {name}")
        latest = FunctionVersion(
            function_name=name, version=LATEST, runtime=runtime, handler=params["Handler"], code_dir=code_dir,
            memory_size=memory, timeout=timeout, environment=environment, region=self.service.region,
            account_id=self.service.account_id, code_sha256=sha, description=params.get("Description", ""))
        record = FunctionRecord(latest, tags=dict(params.get("Tags") or {}))
        self._info[name] = {LATEST: SnapshotInfo(latest.revision, params["Role"], len(zip_file),
                                                 environment_given="Environment" in params)}
        self._next_version[name] = 1
        record.states[LATEST] = creating()
        self.service.put_function(record)
        self._start_preparation(record, LATEST, latest)
        if params.get("Publish"):
            version = await self._publish_prepared(record, None)
            return self._configuration(record, version, latest.function_arn)
        return self._configuration(record, latest, latest.function_arn)

    @_operation
    async def GetFunction(self, params: dict[str, Any]) -> dict[str, Any]:
        """Configuration, a code location placeholder, tags and reserved concurrency."""
        record, qualifier = self._lookup(params["FunctionName"], params.get("Qualifier"))
        version, arn = self._target(record, qualifier)
        region = self.service.region
        result: dict[str, Any] = {
            "Configuration": self._configuration(record, version, arn),
            "Code": {"RepositoryType": "S3",
                     "Location": f"https://awslambda-{region}-tasks.s3.{region}.amazonaws.com/snapshots/"
                                 f"{self.service.account_id}/{record.name}-{version.version}"},
        }
        if record.tags:
            result["Tags"] = dict(record.tags)
        if record.reserved_concurrency is not None:
            result["Concurrency"] = {"ReservedConcurrentExecutions": record.reserved_concurrency}
        return result

    @_operation
    async def GetFunctionConfiguration(self, params: dict[str, Any]) -> dict[str, Any]:
        """The configuration of $LATEST, a version or (the primary version of) an alias."""
        record, qualifier = self._lookup(params["FunctionName"], params.get("Qualifier"))
        version, arn = self._target(record, qualifier)
        return self._configuration(record, version, arn)

    @_operation
    async def UpdateFunctionCode(self, params: dict[str, Any]) -> dict[str, Any]:
        """New code for $LATEST (ZipFile); running environments of the old code are retired."""
        record = self._unqualified(params["FunctionName"])
        self._check_revision(params, self._info_for(record, record.latest).revision_id)
        if not params.get("DryRun"):
            check_changeable(record.latest.function_arn, record.state(LATEST))
        zip_file = params.get("ZipFile")
        if not zip_file:
            raise _invalid("lambda-canary accepts function code as ZipFile only (S3Bucket/S3Key and ImageUri "
                           "are not supported)")
        self._warn_ignored("UpdateFunctionCode", record.name, params, _UPDATE_CODE_HANDLED)
        self._warn_architectures(record.name, params.get("Architectures"))
        self._warn_update_blocked(record.name, record.latest.runtime)
        code_dir, sha = await self._store_code(record.name, zip_file)
        latest = record.latest  # read after the unpack: an update made meanwhile is built upon, not lost
        updated = with_revision(latest, code_dir=code_dir, code_sha256=sha)
        if params.get("DryRun"):
            info = replace(self._info_for(record, latest), code_size=len(zip_file))
            return self._configuration(record, updated, latest.function_arn, info)
        check_changeable(latest.function_arn, record.state(LATEST))  # an update may have begun during the unpack
        self._begin_update(record, updated, code_size=len(zip_file))
        if params.get("Publish"):
            version = await self._publish_prepared(record, None)
            return self._configuration(record, version, version.version_arn)
        return self._configuration(record, updated, updated.function_arn)

    @_operation
    async def UpdateFunctionConfiguration(self, params: dict[str, Any]) -> dict[str, Any]:
        """Runtime, handler, memory, timeout, environment, description or role of $LATEST."""
        record = self._unqualified(params["FunctionName"])
        latest = record.latest
        info = self._info_for(record, latest)
        self._check_revision(params, info.revision_id)
        check_changeable(latest.function_arn, record.state(LATEST))
        changes: dict[str, Any] = {}
        if "Runtime" in params:
            changes["runtime"] = self._runtime(params["Runtime"])
        if "Handler" in params:
            changes["handler"] = params["Handler"]
        if "Timeout" in params or "MemorySize" in params:
            changes["timeout"], changes["memory_size"] = self._limits(
                params.get("Timeout", latest.timeout), params.get("MemorySize", latest.memory_size))
        if "Environment" in params:
            changes["environment"] = self._environment(params["Environment"])
        if "Description" in params:
            changes["description"] = params["Description"]
        self._warn_ignored("UpdateFunctionConfiguration", record.name, params, _UPDATE_CONFIG_HANDLED)
        self._warn_update_blocked(record.name, changes.get("runtime", latest.runtime))
        changes = {key: value for key, value in changes.items() if getattr(latest, key) != value}
        if changes:
            self._begin_update(record, with_revision(latest, **changes), role=params.get("Role"))
        else:  # nothing the environments see: the update still goes InProgress -> Successful, as on AWS
            info.role = params.get("Role", info.role)
            info.last_modified, info.revision_id = _now(), _new_id()
            record.states[LATEST] = updating(record.state(LATEST))
            self._start_preparation(record, LATEST, latest, prepare=False)
        return self._configuration(record, record.latest, record.latest.function_arn)

    @_operation
    async def DeleteFunction(self, params: dict[str, Any]) -> RawResponse:
        """Delete a function (every version and alias) or, with a qualifier, one version."""
        name, qualifier = self.service.split_reference(params["FunctionName"], params.get("Qualifier"))
        if qualifier == LATEST:
            raise _invalid("$LATEST version cannot be deleted without deleting the function.")
        record = self.service.function(name)
        if qualifier is None:
            del self.service.functions[name]
            for snapshot in [record.latest, *record.versions.values(), *([record.serving] if record.serving else [])]:
                await self.service.retire(snapshot)
            self._info.pop(name, None)
            self._next_version.pop(name, None)
            self._policy_revisions = {key: value for key, value in self._policy_revisions.items() if key[0] != name}
            self._recent.pop(name, None)
            await asyncio.to_thread(shutil.rmtree, self.code_root / name, True)  # uploads only, never config code
        elif qualifier.isdigit():
            version = record.versions.get(qualifier)
            if version is None:  # AWS answers as deleted (recorded: test_delete_on_nonexisting_version)
                return RawResponse(b"", {}, 204)
            users = [alias.name for alias in record.aliases.values()
                     if alias.function_version == qualifier or qualifier in alias.additional_version_weights]
            if users:
                raise _conflict(f"Unable to delete version because the following aliases reference it: "
                                f"[{', '.join(users)}]")
            del record.versions[qualifier]
            self._info.get(name, {}).pop(qualifier, None)
            await self.service.retire(version)
        else:
            raise _invalid(f"Deletion of aliases is not supported by DeleteFunction; use DeleteAlias for "
                           f"{qualifier}")
        return RawResponse(b"", {}, 204)

    @_operation
    async def ListFunctions(self, params: dict[str, Any]) -> dict[str, Any]:
        """Every function's $LATEST; FunctionVersion=ALL adds the published versions."""
        every = params.get("FunctionVersion")
        if every not in (None, "ALL"):
            raise _validation(every, "functionVersion", "Member must satisfy enum value set: [ALL]")
        entries = []
        for record in sorted(self.service.functions.values(), key=lambda item: item.name):
            arn = record.latest.function_arn
            entries.append(_list_entry(self._configuration(record, record.latest,
                                                           f"{arn}:{LATEST}" if every else arn)))
            if every:
                entries.extend(_list_entry(self._configuration(record, version, version.version_arn))
                               for version in _sorted_versions(record))
        page, marker = _page(entries, params)
        return {"Functions": page, "NextMarker": marker}

    # ---- versions ------------------------------------------------------------------------------
    @_operation
    async def PublishVersion(self, params: dict[str, Any]) -> dict[str, Any]:
        """Publish $LATEST as the next version, unless nothing changed since the last one (then return it)."""
        record = self._unqualified(params["FunctionName"])
        latest = record.latest
        self._check_revision(params, self._info_for(record, latest).revision_id)
        check_changeable(latest.function_arn, record.state(LATEST))
        expected = params.get("CodeSha256")
        current = aws_sha256(latest.code_sha256)
        if expected and expected != current:
            raise _invalid(f"CodeSHA256 ({expected}) is different from current CodeSHA256 in $LATEST ({current}). "
                           "Please try again with the CodeSHA256 in $LATEST.")
        self._warn_update_blocked(record.name, latest.runtime)
        version = await self._publish_prepared(record, params.get("Description"))
        return self._configuration(record, version, version.version_arn)

    @_operation
    async def ListVersionsByFunction(self, params: dict[str, Any]) -> dict[str, Any]:
        """$LATEST and every published version, oldest first."""
        record = self._unqualified(params["FunctionName"])
        latest = record.latest
        entries = [_list_entry(self._configuration(record, latest, f"{latest.function_arn}:{LATEST}"))]
        entries.extend(_list_entry(self._configuration(record, version, version.version_arn))
                       for version in _sorted_versions(record))
        page, marker = _page(entries, params)
        return {"Versions": page, "NextMarker": marker}

    # ---- aliases -------------------------------------------------------------------------------
    @_operation
    async def CreateAlias(self, params: dict[str, Any]) -> dict[str, Any]:
        """A named pointer to a version, optionally sending a share of invokes to one more version."""
        function_name, _ = self.service.split_reference(params["FunctionName"])
        if function_name not in self.service.functions:  # AWS names the version asked for
            self._function(function_name, params["FunctionVersion"])
        record = self._unqualified(params["FunctionName"])
        name = params["Name"]
        if not _ALIAS_NAME.fullmatch(name):
            raise _validation(name, "name", r"Member must satisfy regular expression pattern: "
                                            r"(?!^[0-9]+$)([a-zA-Z0-9-_]+)")
        primary = self._check_alias_target(record, params["FunctionVersion"])
        if name in record.aliases:
            raise _conflict(f"Alias already exists: {record.latest.function_arn}:{name}")
        weights = self._routing(record, primary, _weights(params.get("RoutingConfig")))
        alias = Alias(name, primary, weights, params.get("Description", ""))
        record.aliases[name] = alias
        return self._alias_out(record, alias)

    @_operation
    async def UpdateAlias(self, params: dict[str, Any]) -> dict[str, Any]:
        """Repoint an alias or change its routing; an empty AdditionalVersionWeights clears the split."""
        record = self._unqualified(params["FunctionName"])
        alias = self._alias(record, params["Name"])
        self._check_revision(params, alias.revision_id)
        primary = alias.function_version
        if "FunctionVersion" in params:
            primary = self._check_alias_target(record, params["FunctionVersion"])
        weights = alias.additional_version_weights
        if "RoutingConfig" in params:
            weights = _weights(params["RoutingConfig"])
        weights = self._routing(record, primary, weights)
        updated = replace(alias, function_version=primary, additional_version_weights=weights,
                          description=params.get("Description", alias.description), revision_id=_new_id())
        record.aliases[alias.name] = updated
        return self._alias_out(record, updated)

    @_operation
    async def GetAlias(self, params: dict[str, Any]) -> dict[str, Any]:
        """One alias."""
        record = self._unqualified(params["FunctionName"])
        return self._alias_out(record, self._alias(record, params["Name"]))

    @_operation
    async def DeleteAlias(self, params: dict[str, Any]) -> None:
        """Remove an alias (and the permissions scoped to it)."""
        record = self._unqualified(params["FunctionName"])
        alias = self._alias(record, params["Name"])
        del record.aliases[alias.name]
        record.policy[:] = [statement for statement in record.policy if statement.qualifier != alias.name]

    @_operation
    async def ListAliases(self, params: dict[str, Any]) -> dict[str, Any]:
        """Every alias, or those whose primary version is FunctionVersion."""
        record = self._unqualified(params["FunctionName"])
        wanted = params.get("FunctionVersion")
        entries = [self._alias_out(record, alias) for alias in sorted(record.aliases.values(), key=lambda a: a.name)
                   if wanted is None or alias.function_version == wanted]
        page, marker = _page(entries, params)
        return {"Aliases": page, "NextMarker": marker}

    # ---- resource policy ---------------------------------------------------------------------------
    @_operation
    async def AddPermission(self, params: dict[str, Any]) -> dict[str, Any]:
        """Grant a principal an action, on the function or (Qualifier / name:qualifier) a version or alias."""
        name, qualifier = self.service.split_reference(params["FunctionName"], params.get("Qualifier"))
        record = self.service.function(name)
        if qualifier == LATEST:
            raise _invalid("We currently do not support adding policies for $LATEST.")
        self._check_scope(record, qualifier)
        if not _PRINCIPAL.fullmatch(params["Principal"]):
            raise _invalid("The provided principal was invalid. Please check the principal and try again.")
        sid, action = params["StatementId"], params["Action"]
        if not _STATEMENT_ID.fullmatch(sid):
            raise _validation(sid, "statementId", r"Member must satisfy regular expression pattern: "
                                                  r"([a-zA-Z0-9-_.]+)")
        if not _ACTION.fullmatch(action):
            raise _validation(action, "action", r"Member must satisfy regular expression pattern: "
                                                r"(lambda:[*]|lambda:[a-zA-Z]+|[*])")
        self._check_revision(params, self._scope_revision(record, qualifier), "GetPolicy")
        if any(statement.sid == sid for statement in self._statements(record, qualifier)):
            raise _conflict(f"The statement id ({sid}) provided already exists. Please provide a new statement id, "
                            "or remove the existing statement.")
        ignored = sorted(key for key in ("SourceAccount", "EventSourceToken", "PrincipalOrgID",
                                         "FunctionUrlAuthType", "InvokedViaFunctionUrl") if key in params)
        if ignored:
            self.warn(f"AddPermission {name}: lambda-canary shows but does not check {', '.join(ignored)}")
        conditions = {key: params[key] for key in ("SourceAccount", "EventSourceToken", "PrincipalOrgID",
                                                    "FunctionUrlAuthType") if params.get(key)}
        statement = PolicyStatement(sid, params["Principal"], action, params.get("SourceArn"), qualifier,
                                    conditions)
        record.policy.append(statement)
        self._bump_scope(record, qualifier)
        return {"Statement": json.dumps(self._statement_json(record, statement, qualifier))}

    @_operation
    async def GetPolicy(self, params: dict[str, Any]) -> dict[str, Any]:
        """The resource policy of the function, a version or an alias."""
        record, qualifier = self._policy_scope(params, "The resource you requested does not exist.")
        statements = self._statements(record, qualifier)
        if not statements:
            raise _not_found("The resource you requested does not exist.")
        policy = {"Version": "2012-10-17", "Id": "default",
                  "Statement": [self._statement_json(record, statement, qualifier) for statement in statements]}
        return {"Policy": json.dumps(policy), "RevisionId": self._scope_revision(record, qualifier)}

    @_operation
    async def RemovePermission(self, params: dict[str, Any]) -> None:
        """Remove one statement by its id."""
        record, qualifier = self._policy_scope(params, "No policy found for: {arn}")
        statements = self._statements(record, qualifier)
        if not statements:
            raise _not_found("No policy is associated with the given resource.")
        sid = params["StatementId"]
        found = next((statement for statement in statements if statement.sid == sid), None)
        if found is None:
            raise _not_found(f"Statement {sid} is not found in resource policy.")
        self._check_revision(params, self._scope_revision(record, qualifier), "GetPolicy")
        record.policy.remove(found)
        self._bump_scope(record, qualifier)

    # ---- invoke --------------------------------------------------------------------------------------
    @_operation
    async def Invoke(self, params: dict[str, Any]) -> dict[str, Any]:
        """RequestResponse (200), Event (202, runs in the background) or DryRun (204)."""
        resolved = self.service.resolve(params["FunctionName"], params.get("Qualifier"))
        self.service.check_invocable(resolved)
        payload = params.get("Payload") or b"{}"
        try:
            json.loads(payload)
        except ValueError as error:
            raise _error("InvalidRequestContentException",
                         f"Could not parse request body into json: Could not parse payload into json: {error}") \
                from None
        client_context = self._client_context(params.get("ClientContext"))
        kind = check_invocation_type(params.get("InvocationType"))
        if kind == "DryRun":
            return {"StatusCode": 204, "Payload": b""}
        if kind == "Event":
            self.service.invoke_later(resolved, payload, self.warn, client_context=client_context)
            return {"StatusCode": 202, "Payload": b""}
        try:
            result = await self.service.invoke_resolved(resolved, payload, client_context=client_context)
        except UserError as error:  # e.g. the runtime's Node is not installed
            raise _error("ServiceException", str(error), 500) from None
        output: dict[str, Any] = {"StatusCode": 200, "Payload": result.payload,
                                  "ExecutedVersion": result.executed_version}
        if result.function_error:
            output["FunctionError"] = result.function_error
        if params.get("LogType") == "Tail":
            tail = self._log_tail(resolved.version.function_name, result.request_id)
            if tail is not None:
                output["LogResult"] = tail
        return output

    @staticmethod
    def _client_context(value: str | None) -> str | None:
        if not value:
            return None
        try:
            return decode_client_context(value)
        except ValueError as error:
            raise _invalid(str(error)) from None

    def _tee_logs(self) -> None:
        """Keep each function's recent log lines for LogType=Tail (lines still go to the stack's sink).

        The service hands its sink to each environment pool when the pool is created, so attach this before
        the first invoke; pools made earlier are not seen. With function logs off (no sink) nothing is kept and
        Tail omits LogResult.
        """
        inner = self.service._sink
        if inner is None:
            return

        def tee(function_name: str, line: str) -> None:
            recent = self._recent.get(function_name)
            if recent is None:
                recent = self._recent[function_name] = deque(maxlen=RECENT_LOG_LINES)
            # A tail shows at most TAIL_BYTES of any line's end; the head keeps what tells lines apart (request
            # ids, START/END/REPORT). So a function printing 256 KB lines keeps ~4 KB per line here, not 256 KB.
            long = len(line) > TAIL_LINE_HEAD + TAIL_BYTES
            recent.append(line[:TAIL_LINE_HEAD] + line[-TAIL_BYTES:] if long else line)
            inner(function_name, line)

        self.service._sink = tee

    def _log_tail(self, function_name: str, request_id: str) -> str | None:
        """Base64 of the last 4 KB of one invocation's lines (START..REPORT), or None when not recorded."""
        lines = list(self._recent.get(function_name, ()))
        start = next((index for index, line in enumerate(lines)
                      if line.startswith(f"START RequestId: {request_id}")), None)
        if start is None:
            return None
        kept = []
        for line in lines[start:]:
            fields = line.split("\t", 2)
            other = len(fields) > 1 and _REQUEST_ID.fullmatch(fields[1]) and fields[1] != request_id
            if not other and not (line.startswith(("START RequestId:", "END RequestId:", "REPORT RequestId:"))
                                  and request_id not in line):
                kept.append(line)
            if line.startswith(f"REPORT RequestId: {request_id}"):
                break
        text = "".join(line + "\n" for line in kept).encode()
        return base64.b64encode(text[-TAIL_BYTES:]).decode()

    # ---- tags --------------------------------------------------------------------------------------------
    @_operation
    async def ListTags(self, params: dict[str, Any]) -> dict[str, Any]:
        """A function's tags."""
        return {"Tags": dict(self._tagged(params["Resource"]).tags)}

    @_operation
    async def TagResource(self, params: dict[str, Any]) -> None:
        """Add or overwrite tags."""
        record = self._tagged(params["Resource"])
        tags = {**record.tags, **params["Tags"]}
        if len(tags) > MAX_TAGS:
            raise _invalid(f"Number of tags exceeds resource tag limit of {MAX_TAGS}.")
        record.tags = tags

    @_operation
    async def UntagResource(self, params: dict[str, Any]) -> None:
        """Remove tags by key."""
        record = self._tagged(params["Resource"])
        for key in params["TagKeys"]:
            record.tags.pop(key, None)

    def _tagged(self, resource: str) -> FunctionRecord:
        name, qualifier = self.service.split_reference(resource)
        if qualifier:
            raise _invalid("Tags are supported on functions only, not on versions or aliases.")
        return self.service.function(name)

    # ---- persistence seam --------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The functions created through this API as JSON-ready data; code stays in `code_root`."""
        return {"functions": {name: make() for name, make in self.saved_functions().items()}}

    def saved_functions(self) -> dict[str, Callable[[], dict[str, Any]]]:
        """Each function created through this API, with what makes its saved form (one function at a time, so a
        change re-encodes only the function it touched)."""
        return {name: functools.partial(self._function_to_dict, record)
                for name, record in self.service.functions.items() if not record.from_config}

    def _function_to_dict(self, record: FunctionRecord) -> dict[str, Any]:
        return {
            "latest": _version_to_dict(record.latest),
            "versions": {key: _version_to_dict(version) for key, version in record.versions.items()},
            "aliases": {key: asdict(alias) for key, alias in record.aliases.items()},
            "policy": [asdict(statement) for statement in record.policy],
            "reserved_concurrency": record.reserved_concurrency,
            "tags": dict(record.tags),
            "info": {key: asdict(self._info_for(record, version))
                     for key, version in [(LATEST, record.latest), *record.versions.items()]},
            "next_version": self._next_version.get(record.name, 1),
            "states": {key: state.to_dict() for key, state in record.states.items()},
        }

    def from_dict(self, data: dict[str, Any]) -> None:
        """Put back functions saved by `to_dict` (same `code_root`)."""
        for name, saved in data.get("functions", {}).items():
            record = FunctionRecord(
                _version_from_dict(saved["latest"]),
                {key: _version_from_dict(value) for key, value in saved["versions"].items()},
                {key: Alias(**value) for key, value in saved["aliases"].items()},
                [PolicyStatement(**value) for value in saved["policy"]],
                saved.get("reserved_concurrency"), tags=dict(saved.get("tags", {})))
            record.states = {key: FunctionState.from_dict(value) for key, value in saved.get("states", {}).items()}
            self.service.put_function(record)
            self._info[name] = {key: SnapshotInfo(**value) for key, value in saved.get("info", {}).items()}
            self._next_version[name] = saved.get("next_version", 1)

    # ---- internals: lookups ----------------------------------------------------------------------------
    def _lookup(self, reference: str, qualifier: str | None) -> tuple[FunctionRecord, str | None]:
        name, qualifier = self.service.split_reference(reference, qualifier)
        return self._function(name, qualifier), qualifier

    def _function(self, name: str, qualifier: str | None = None) -> FunctionRecord:
        """A function; AWS's not-found message names the qualifier asked for (`...:function:f:$LATEST`)."""
        record = self.service.functions.get(name)
        if record is None:
            arn = f"arn:aws:lambda:{self.service.region}:{self.service.account_id}:function:{name}"
            raise function_not_found(f"{arn}:{qualifier}" if qualifier else arn)
        return record

    def _unqualified(self, reference: str) -> FunctionRecord:
        """A function for operations on $LATEST or the whole function (no version or alias)."""
        record, qualifier = self._lookup(reference, None)
        if qualifier is not None and qualifier != LATEST:
            raise _invalid("Current operation does not support versions other than $LATEST. Please set version to "
                           "$LATEST or do not set a version in your request.")
        return record

    def _new_function_name(self, reference: str) -> str:
        name, qualifier = self.service.split_reference(reference)
        if qualifier is not None:
            raise _invalid("Current operation does not support versions other than $LATEST. Please set version to "
                           "$LATEST or do not set a version in your request.")
        if not _FUNCTION_NAME.fullmatch(name):
            raise _validation(name, "functionName", r"Member must satisfy regular expression pattern: "
                                                    r"(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\d{1}:)?"
                                                    r"(\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?")
        if name in self.service.functions:
            raise _conflict(f"Function already exist: {name}")
        return name

    def _target(self, record: FunctionRecord, qualifier: str | None) -> tuple[FunctionVersion, str]:
        """The snapshot a qualifier names, and the ARN to show for it (an alias shows its own)."""
        arn = record.latest.function_arn
        if qualifier is None:
            return record.latest, arn
        if qualifier == LATEST:
            return record.latest, f"{arn}:{LATEST}"
        if qualifier.isdigit():
            version = record.versions.get(qualifier)
            if version is None:
                raise function_not_found(f"{arn}:{qualifier}")
            return version, version.version_arn
        alias = record.aliases.get(qualifier)
        if alias is None:
            raise function_not_found(f"{arn}:{qualifier}")
        primary = record.latest if alias.function_version == LATEST else record.versions[alias.function_version]
        return primary, f"{arn}:{qualifier}"

    def _alias(self, record: FunctionRecord, name: str) -> Alias:
        alias = record.aliases.get(name)
        if alias is None:
            raise _not_found(f"Cannot find alias arn: {record.latest.function_arn}:{name}")
        return alias

    def _info_for(self, record: FunctionRecord, version: FunctionVersion) -> SnapshotInfo:
        """The API's view of a snapshot, made on first sight for snapshots this API did not create."""
        by_version = self._info.setdefault(record.name, {})
        info = by_version.get(version.version)
        if info is None or info.revision != version.revision:
            if info is not None:
                role = info.role
            elif version.version != LATEST and LATEST in by_version:
                role = by_version[LATEST].role
            else:
                role = f"arn:aws:iam::{version.account_id}:role/lambda-canary"
            info = SnapshotInfo(version.revision, role, _folder_size(version.code_dir))
            by_version[version.version] = info
        return info

    # ---- internals: changes ------------------------------------------------------------------------------
    async def _store_code(self, name: str, zip_file: bytes) -> tuple[Path, str]:
        """Unpack a package into code_root/<name>/<sha256 hex>/; returns the folder and AWS's CodeSha256."""
        digest = hashlib.sha256(zip_file)
        target = self.code_root / name / digest.hexdigest()
        if not target.is_dir():
            await asyncio.to_thread(unpack_zip, zip_file, target)
        return target, base64.b64encode(digest.digest()).decode()

    def _begin_update(self, record: FunctionRecord, updated: FunctionVersion, *, code_size: int | None = None,
                      role: str | None = None) -> None:
        """Make `updated` the $LATEST shown, InProgress; the running snapshot serves until it is ready."""
        info = self._info_for(record, record.latest)
        record.serving = record.running_latest
        record.latest = updated
        self._info[record.name][LATEST] = SnapshotInfo(
            updated.revision, role or info.role, info.code_size if code_size is None else code_size,
            environment_given=info.environment_given or bool(updated.environment))
        record.states[LATEST] = updating(record.state(LATEST))
        self._start_preparation(record, LATEST, updated)

    async def _publish_prepared(self, record: FunctionRecord, description: str | None) -> FunctionVersion:
        """Publish $LATEST; a version of a ready $LATEST is prepared now and answers Active, one of a $LATEST
        still being created or updated answers Pending and prepares in the background."""
        known = set(record.versions)
        version = self._publish(record, description)
        if version.version in known:
            return version
        # publishing gives $LATEST a new RevisionId (recorded: LocalStack's AWS-validated test_lambda_api.py::
        # TestLambdaRevisions::test_function_revisions_version_and_alias, "get_function_latest_rev3")
        self._info_for(record, record.latest).revision_id = _new_id()
        state = record.state(LATEST)
        record.states[version.version] = creating()
        if state.invocable and not state.updating and record.serving is None:
            await self._settle(record, version.version, version, prepare=True, hold=False)
        else:
            self._start_preparation(record, version.version, version)
        return version

    def _start_preparation(self, record: FunctionRecord, key: str, version: FunctionVersion, *,
                           prepare: bool = True) -> None:
        """Prepare a snapshot in the background, then record Active/Successful or Failed."""
        task = asyncio.get_running_loop().create_task(self._settle(record, key, version, prepare=prepare))
        self._preparations.add(task)
        task.add_done_callback(self._preparations.discard)

    async def _settle(self, record: FunctionRecord, key: str, version: FunctionVersion, *, prepare: bool = True,
                      hold: bool = True) -> None:
        error: Exception | None = None
        try:
            if prepare:
                await self.service.prepare(version, hold=hold)
            elif hold:
                await hold_if_asked()
        except Exception as caught:  # any failure of preparation is the snapshot's Failed state
            error = caught
        current = record.versions.get(key) if key != LATEST else record.latest
        if self.service.functions.get(record.name) is not record or current is not version:
            return  # deleted or superseded meanwhile
        before = record.state(key)
        retired: FunctionVersion | None = None
        if error is None:
            record.states[key] = active()
            old = record.serving if key == LATEST else None
            if old is not None:
                record.serving = None
                retired = old if old.pool_key != version.pool_key else None
        else:
            reason = str(getattr(error, "message", None) or error) or type(error).__name__
            record.states[key] = failed(record.state(key), failure_code(error), reason)
            self.warn(f"{version.function_name}:{version.version}: preparation failed ({failure_code(error)}): "
                      f"{reason}")
        # the transition is one step: no request sees the new state with the old RevisionId
        if record.state(key) != before:
            self._info_for(record, version).revision_id = _new_id()  # a new RevisionId on each transition
            if self.on_change is not None:
                self.on_change()
        if retired is not None:
            await self.service.retire(retired)

    async def prepare_restored(self, record: FunctionRecord) -> None:
        """Prepare a function put back from saved state (before serving): each snapshot ends Active or Failed."""
        record.serving = None
        for key, version in [(LATEST, record.latest), *record.versions.items()]:
            await self._settle(record, key, version, prepare=True, hold=False)

    async def close(self) -> None:
        """Stop the preparations still running."""
        for task in list(self._preparations):
            task.cancel()
        await asyncio.gather(*self._preparations, return_exceptions=True)

    def _publish(self, record: FunctionRecord, description: str | None) -> FunctionVersion:
        latest = record.latest
        latest_info = self._info_for(record, latest)
        fingerprint = _fingerprint(latest, latest_info.role)
        if record.versions:
            last = record.versions[max(record.versions, key=int)]
            last_info = self._info_for(record, last)
            if (last_info.published_from or _fingerprint(last, last_info.role)) == fingerprint:
                return last
        highest = max((int(key) for key in record.versions), default=0)
        number = max(self._next_version.get(record.name, 1), highest + 1)
        self._next_version[record.name] = number + 1
        version = replace(latest, version=str(number),
                          description=latest.description if description is None else description)
        record.versions[version.version] = version
        self._info[record.name][version.version] = SnapshotInfo(
            version.revision, latest_info.role, latest_info.code_size, published_from=fingerprint,
            environment_given=latest_info.environment_given)
        return version

    def _check_revision(self, params: dict[str, Any], current: str, api: str = "GetFunction/GetAlias") -> None:
        wanted = params.get("RevisionId")
        if wanted and wanted != current:
            raise _error("PreconditionFailedException", REVISION_MISMATCH.format(api=api), 412)

    # ---- internals: validation ---------------------------------------------------------------------------
    def _runtime(self, name: str) -> RuntimeSpec:
        spec = catalogue().get(name)
        if spec is None:
            if name in AWS_RUNTIMES:
                raise _invalid(f"lambda-canary runs Node.js runtimes only ({', '.join(catalogue())}); AWS accepts "
                               f"{name}")
            raise _invalid(f"Value {name} at 'runtime' failed to satisfy constraint: Member must satisfy enum value "
                           f"set: [{', '.join(AWS_RUNTIMES)}] or be a valid ARN")
        return spec

    @staticmethod
    def _limits(timeout: int, memory: int) -> tuple[int, int]:
        if not 1 <= timeout <= 900:
            raise _validation(timeout, "timeout", "Member must have value less than or equal to 900"
                              if timeout > 900 else "Member must have value greater than or equal to 1")
        if not 128 <= memory <= 10240:
            raise _validation(memory, "memorySize", "Member must have value less than or equal to 10240"
                              if memory > 10240 else "Member must have value greater than or equal to 128")
        return timeout, memory

    @staticmethod
    def _environment(environment: dict[str, Any] | None) -> dict[str, str]:
        variables = dict((environment or {}).get("Variables") or {})
        reserved = reserved_variables_error(variables)
        if reserved:
            raise _invalid(reserved)
        measured = json.dumps(variables, separators=(",", ":"))
        if len(measured.encode()) > MAX_ENVIRONMENT_BYTES:
            raise _invalid("Lambda was unable to configure your environment variables because the environment "
                           "variables you have provided exceeded the 4KB limit. String measured: " + measured)
        return variables

    def _warn_ignored(self, operation: str, name: str, params: dict[str, Any], handled: frozenset[str]) -> None:
        ignored = sorted(key for key in params if key not in handled)
        if ignored:
            self.warn(f"{operation} {name}: lambda-canary ignores {', '.join(ignored)}")

    def _warn_architectures(self, name: str, architectures: list[str] | None) -> None:
        if architectures and architectures != ["x86_64"]:
            self.warn(f"{name}: lambda-canary runs functions on this machine's architecture and reports x86_64 "
                      f"(asked for {', '.join(architectures)})")

    def _warn_update_blocked(self, name: str, runtime: RuntimeSpec) -> None:
        if runtime.blocks_update(self._today()):
            self.warn(f"{name}: AWS has refused updates to {runtime.name} functions since {runtime.block_update}; "
                      "lambda-canary applies the update anyway")

    def _check_alias_target(self, record: FunctionRecord, version: str) -> str:
        if version != LATEST and not version.isdigit():
            raise _validation(version, "functionVersion",
                              r"Member must satisfy regular expression pattern: (\$LATEST|[0-9]+)")
        if version != LATEST and version not in record.versions:
            raise function_not_found(f"{record.latest.function_arn}:{version}")
        return version

    def _routing(self, record: FunctionRecord, primary: str, weights: dict[str, float]) -> dict[str, float]:
        """AdditionalVersionWeights as AWS checks them: one published version other than the primary."""
        if not weights:
            return {}
        if len(weights) > 1:
            raise _invalid("Number of items in AdditionalVersionWeights cannot be greater than 1")
        for version, weight in weights.items():
            if not 0.0 <= weight <= 1.0:
                raise _validation(f"{{{version}={weight}}}", "routingConfig.additionalVersionWeights",
                                  "Map value must satisfy constraint: [Member must have value less than or equal to "
                                  "1.0, Member must have value greater than or equal to 0.0, Member must not be null]")
            if version == primary:
                raise _invalid(f"Invalid function version {primary}. Function version {primary} is already included "
                               "in routing configuration.")
            if primary == LATEST:
                raise _error("InvalidParameterValueException",
                             "$LATEST is not supported for an alias pointing to more than 1 version", user=False)
            if not version.isdigit():
                raise _validation(f"{{{version}={weight}}}", "routingConfig.additionalVersionWeights",
                                  "Map keys must satisfy constraint: [Member must have length less than or equal to "
                                  "1024, Member must have length greater than or equal to 1, Member must satisfy "
                                  "regular expression pattern: [0-9]+, Member must not be null]")
            if version not in record.versions:
                raise function_not_found(f"{record.latest.function_arn}:{version}")
        return {version: float(weight) for version, weight in weights.items()}

    # ---- internals: policy ----------------------------------------------------------------------------------
    def _policy_scope(self, params: dict[str, Any], missing: str) -> tuple[FunctionRecord, str | None]:
        """The function and qualifier of GetPolicy / RemovePermission; `missing` words a missing function."""
        name, qualifier = self.service.split_reference(params["FunctionName"], params.get("Qualifier"))
        record = self.service.functions.get(name)
        if record is None:
            arn = f"arn:aws:lambda:{self.service.region}:{self.service.account_id}:function:{name}"
            raise _not_found(missing.format(arn=arn))
        qualifier = None if qualifier == LATEST else qualifier
        if qualifier is not None and qualifier.isdigit() and qualifier not in record.versions:
            raise _not_found(missing.format(arn=f"{record.latest.function_arn}:{qualifier}"))
        self._check_scope(record, qualifier)
        return record, qualifier

    def _check_scope(self, record: FunctionRecord, qualifier: str | None) -> None:
        """A version or alias a permission names must exist: AWS words a missing alias as an alias."""
        if qualifier is None:
            return
        if qualifier.isdigit():
            if qualifier not in record.versions:
                raise function_not_found(f"{record.latest.function_arn}:{qualifier}")
        elif qualifier not in record.aliases:
            if _ALIAS_NAME.fullmatch(qualifier):
                raise _not_found(f"Cannot find alias arn: {record.latest.function_arn}:{qualifier}")
            raise function_not_found(f"{record.latest.function_arn}:{qualifier}")

    @staticmethod
    def _statements(record: FunctionRecord, qualifier: str | None) -> list[PolicyStatement]:
        return [statement for statement in record.policy
                if statement.qualifier == qualifier or statement.qualifier == ANY_QUALIFIER]

    def _scope_revision(self, record: FunctionRecord, qualifier: str | None) -> str:
        """The RevisionId GetPolicy shows and AddPermission/RemovePermission check: the one the scope got when its
        policy last changed (publishing a version moves $LATEST's RevisionId, not its policy's: recorded in
        LocalStack's AWS-validated test_lambda_api.py::TestLambdaPermissions::test_lambda_permission_fn_versioning)."""
        known = self._policy_revisions.get((record.name, qualifier))
        if known is not None:
            return known
        if qualifier is None:
            return self._info_for(record, record.latest).revision_id
        if qualifier.isdigit():
            return self._info_for(record, record.versions[qualifier]).revision_id
        return record.aliases[qualifier].revision_id

    def _bump_scope(self, record: FunctionRecord, qualifier: str | None) -> None:
        revision = _new_id()
        self._policy_revisions[(record.name, qualifier)] = revision
        if qualifier is None:
            self._info_for(record, record.latest).revision_id = revision
        elif qualifier.isdigit():
            self._info_for(record, record.versions[qualifier]).revision_id = revision
        else:
            record.aliases[qualifier] = replace(record.aliases[qualifier], revision_id=revision)

    @staticmethod
    def _statement_json(record: FunctionRecord, statement: PolicyStatement, qualifier: str | None) -> dict[str, Any]:
        arn = record.latest.function_arn
        scope = statement.qualifier if statement.qualifier not in (None, ANY_QUALIFIER) else qualifier
        principal = statement.principal
        shown: str | dict[str, str]
        if principal == "*":
            shown = "*"
        elif principal.isdigit() and len(principal) == 12:
            shown = {"AWS": f"arn:aws:iam::{principal}:root"}
        elif principal.startswith("arn:"):
            shown = {"AWS": principal}
        else:
            shown = {"Service": principal}
        out: dict[str, Any] = {"Sid": statement.sid, "Effect": "Allow", "Principal": shown,
                               "Action": statement.action, "Resource": f"{arn}:{scope}" if scope else arn}
        # Condition as AWS writes it (recorded: test_lambda_api.py::TestLambdaPermissions::
        # test_add_lambda_permission_fields)
        equals = {_CONDITION_KEYS[key]: value for key, value in (statement.conditions or {}).items()}
        condition: dict[str, Any] = {}
        if equals:
            condition["StringEquals"] = equals
        if statement.source_arn:
            condition["ArnLike"] = {"AWS:SourceArn": statement.source_arn}
        if condition:
            out["Condition"] = condition
        return out

    # ---- internals: output -------------------------------------------------------------------------------
    def _configuration(self, record: FunctionRecord, version: FunctionVersion, arn: str,
                       info: SnapshotInfo | None = None) -> dict[str, Any]:
        """FunctionConfiguration as Lambda returns it, with the snapshot's state fields."""
        info = info or self._info_for(record, version)
        out: dict[str, Any] = {
            "FunctionName": version.function_name,
            "FunctionArn": arn,
            "Runtime": version.runtime.name,
            "Role": info.role,
            "Handler": version.handler,
            "CodeSize": info.code_size,
            "Description": version.description,
            "Timeout": version.timeout,
            "MemorySize": version.memory_size,
            "LastModified": info.last_modified,
            "CodeSha256": aws_sha256(version.code_sha256),
            "Version": version.version,
            "TracingConfig": {"Mode": "PassThrough"},
            "RevisionId": info.revision_id,
            **record.state(version.version).fields(),
            "PackageType": "Zip",
            "Architectures": ["x86_64"],
            "EphemeralStorage": {"Size": 512},
            "SnapStart": {"ApplyOn": "None", "OptimizationStatus": "Off"},
            "LoggingConfig": {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{version.function_name}"},
            "RuntimeVersionConfig": {"RuntimeVersionArn": runtime_version_arn(version)},
        }
        if version.environment or info.environment_given:
            out["Environment"] = {"Variables": dict(version.environment)}
        return out

    @staticmethod
    def _alias_out(record: FunctionRecord, alias: Alias) -> dict[str, Any]:
        out: dict[str, Any] = {"AliasArn": f"{record.latest.function_arn}:{alias.name}", "Name": alias.name,
                               "FunctionVersion": alias.function_version, "Description": alias.description,
                               "RevisionId": alias.revision_id}
        if alias.additional_version_weights:
            out["RoutingConfig"] = {"AdditionalVersionWeights": dict(alias.additional_version_weights)}
        return out


def _weights(routing: dict[str, Any] | None) -> dict[str, float]:
    return dict((routing or {}).get("AdditionalVersionWeights") or {})


def _sorted_versions(record: FunctionRecord) -> list[FunctionVersion]:
    return [record.versions[key] for key in sorted(record.versions, key=int)]


def _list_entry(configuration: dict[str, Any]) -> dict[str, Any]:
    """List operations leave out the state fields."""
    return {key: value for key, value in configuration.items() if key not in _LIST_ONLY_OMITS}


def _page(items: list[T], params: dict[str, Any]) -> tuple[list[T], str | None]:
    marker = params.get("Marker")
    if marker is not None and not marker.isdigit():
        raise _invalid(f"Invalid marker: {marker}")
    start = int(marker) if marker else 0
    end = start + (params.get("MaxItems") or PAGE_SIZE)
    return items[start:end], (str(end) if end < len(items) else None)


def _version_to_dict(version: FunctionVersion) -> dict[str, Any]:
    return {"function_name": version.function_name, "version": version.version, "runtime": version.runtime.name,
            "handler": version.handler, "code_dir": str(version.code_dir), "memory_size": version.memory_size,
            "timeout": version.timeout, "environment": dict(version.environment), "region": version.region,
            "account_id": version.account_id, "code_sha256": version.code_sha256,
            "description": version.description, "revision": version.revision}


def _version_from_dict(data: dict[str, Any]) -> FunctionVersion:
    runtime = catalogue().get(data["runtime"])
    if runtime is None:
        raise UserError(f"saved function {data['function_name']} uses runtime {data['runtime']}, which this "
                        "lambda-canary does not know")
    return FunctionVersion(**{**data, "runtime": runtime, "code_dir": Path(data["code_dir"])})
