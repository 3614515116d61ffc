"""Turn the config's functions (with versions and aliases) into the Lambda service's records."""

from __future__ import annotations

from pathlib import Path

from emulator import code_tree
from emulator.config import LoadedConfig
from emulator.errors import UserError
from emulator.lambda_service.model import FunctionVersion
from emulator.lambda_service.service import ANY_QUALIFIER, Alias, FunctionRecord, PolicyStatement, code_sha256
from emulator.runtimes.catalogue import get_runtime

APIGATEWAY_PRINCIPAL = "apigateway.amazonaws.com"


def api_source_arn(region: str, account_id: str, api_id: str) -> str:
    """Source ARN covering every stage, method and path of an API."""
    return f"arn:aws:execute-api:{region}:{account_id}:{api_id}/*/*/*"


def checked_code_dir(loaded: LoadedConfig, name: str, version: str | None = None) -> Path:
    """A function's code folder, refused (exit 2) when a symbolic link in it leads outside it."""
    code_dir = loaded.code_dir(name, version)
    try:
        code_tree.check_folder(code_dir)
    except code_tree.UnsafePackage as error:
        key = f"functions.{name}.code" if version is None else f"functions.{name}.versions.{version}.code"
        raise UserError(f"{loaded.path.name}: {key}: {code_dir}: {error}") from None
    return code_dir


def authorizers_source_arn(region: str, account_id: str, api_id: str) -> str:
    """Source ARN covering every authorizer of an API (what API Gateway invokes an authorizer with)."""
    return f"arn:aws:execute-api:{region}:{account_id}:{api_id}/authorizers/*"


def records_from_config(loaded: LoadedConfig) -> list[FunctionRecord]:
    """One record per configured function. Each may be invoked by the config's APIs, as a deploy grants."""
    config = loaded.config
    api_arns = [api_source_arn(config.region, config.account_id, loaded.api_id(name)) for name in config.rest_apis]
    api_arns += [authorizers_source_arn(config.region, config.account_id, loaded.api_id(name))
                 for name, api in config.rest_apis.items() if api.authorizers]
    records = []
    for name, function in config.functions.items():
        code_dir = checked_code_dir(loaded, name)
        latest = FunctionVersion(
            function_name=name, version="$LATEST", runtime=get_runtime(function.runtime), handler=function.handler,
            code_dir=code_dir, memory_size=function.memory_size, timeout=function.timeout,
            environment=dict(function.environment), region=config.region, account_id=config.account_id,
            code_sha256=code_sha256(code_dir), description=function.description)
        versions = {}
        for number, spec in function.versions.items():
            version_code = checked_code_dir(loaded, name, number)
            versions[number] = FunctionVersion(
                function_name=name, version=number, runtime=get_runtime(spec.runtime or function.runtime),
                handler=spec.handler or function.handler, code_dir=version_code,
                memory_size=spec.memory_size or function.memory_size, timeout=spec.timeout or function.timeout,
                environment=dict(function.environment if spec.environment is None else spec.environment),
                region=config.region, account_id=config.account_id, code_sha256=code_sha256(version_code),
                description=spec.description)
        aliases = {
            alias_name: Alias(alias_name, alias.function_version,
                              dict(alias.routing_config.additional_version_weights) if alias.routing_config else {},
                              alias.description)
            for alias_name, alias in function.aliases.items()
        }
        policy = [PolicyStatement(f"lambda-canary-{index}", APIGATEWAY_PRINCIPAL, "lambda:InvokeFunction", arn,
                                  ANY_QUALIFIER) for index, arn in enumerate(api_arns)]
        records.append(FunctionRecord(latest, versions, aliases, policy, function.reserved_concurrency,
                                      from_config=True))
    return records
