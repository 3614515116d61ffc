"""Read what the account holds now (read-only calls only)."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from emulator.deploy.desired import MANAGED_TAG
from emulator.deploy.session import Target
from emulator.errors import UserError

NOT_FOUND = {"ResourceNotFoundException", "NotFoundException", "NoSuchEntity", "NoSuchEntityException"}


def not_found(error: ClientError) -> bool:
    """Is this the service's 'no such thing' error?"""
    return error.response.get("Error", {}).get("Code") in NOT_FOUND


def get_function(target: Target, name: str) -> dict[str, Any] | None:
    """GetFunction (Configuration, Tags), or None."""
    try:
        found: dict[str, Any] = target.client("lambda").get_function(FunctionName=name)
    except ClientError as error:
        if not_found(error):
            return None
        raise
    return found


def list_versions(target: Target, name: str) -> dict[str, dict[str, Any]]:
    """Published versions by number ($LATEST left out)."""
    paginator = target.client("lambda").get_paginator("list_versions_by_function")
    versions = {}
    for page in paginator.paginate(FunctionName=name):
        for version in page.get("Versions", []):
            if version["Version"] != "$LATEST":
                versions[version["Version"]] = version
    return versions


def list_aliases(target: Target, name: str) -> dict[str, dict[str, Any]]:
    """Aliases by name."""
    paginator = target.client("lambda").get_paginator("list_aliases")
    return {alias["Name"]: alias for page in paginator.paginate(FunctionName=name)
            for alias in page.get("Aliases", [])}


def policy_statements(target: Target, function_arn: str, qualifier: str | None) -> list[dict[str, Any]]:
    """The statements of the (qualified) function's resource policy that apply to exactly that ARN."""
    kwargs = {"Qualifier": qualifier} if qualifier else {}
    name = function_arn.rsplit(":", 1)[-1]
    try:
        policy = target.client("lambda").get_policy(FunctionName=name, **kwargs)["Policy"]
    except ClientError as error:
        if not_found(error):
            return []
        raise
    resource = f"{function_arn}:{qualifier}" if qualifier else function_arn
    statements = json.loads(policy).get("Statement", [])
    return [statement for statement in statements if statement.get("Resource", resource) == resource]


def rest_apis(target: Target) -> list[dict[str, Any]]:
    """Every REST API of the region."""
    paginator = target.client("apigateway").get_paginator("get_rest_apis")
    return [item for page in paginator.paginate() for item in page.get("items", [])]


def find_api(target: Target, name: str, *, managed_only: bool) -> dict[str, Any] | None:
    """The REST API named `name` (the managed one when `managed_only`); None when there is none; a UserError
    when the name is ambiguous."""
    found = [api for api in rest_apis(target) if api.get("name") == name]
    managed = [api for api in found if (api.get("tags") or {}).get(MANAGED_TAG) == "true"]
    candidates = managed if (managed_only or managed) else found
    if len(candidates) > 1:
        ids = ", ".join(api["id"] for api in candidates)
        raise UserError(f"{len(candidates)} REST APIs are named {name!r} ({ids}); remove the extra ones")
    if not candidates and managed_only and found:
        raise UserError(f"REST API {name!r} ({found[0]['id']}) exists but is not managed by lambda-canary (no tag "
                        f"{MANAGED_TAG}=true); refusing to change it: rename one of them")
    return candidates[0] if candidates else None


def api_resources(target: Target, api_id: str) -> dict[str, dict[str, Any]]:
    """Resources by path, with their methods embedded."""
    paginator = target.client("apigateway").get_paginator("get_resources")
    return {item["path"]: item for page in paginator.paginate(restApiId=api_id, embed=["methods"])
            for item in page.get("items", [])}


def authorizers(target: Target, api_id: str) -> dict[str, dict[str, Any]]:
    """Every authorizer of an API, by name (GetAuthorizers, page by page; none for an API not deployed yet: a plan
    of the permissions phase alone)."""
    return _named(target, "get_authorizers", api_id)


def _named(target: Target, operation: str, api_id: str) -> dict[str, dict[str, Any]]:
    """Every item of an API's GetAuthorizers, GetModels or GetRequestValidators, by name, page by page (none for
    an API not deployed yet)."""
    client = target.client("apigateway")
    found: dict[str, dict[str, Any]] = {}
    position: str | None = None
    while True:
        try:
            page = getattr(client, operation)(restApiId=api_id, limit=500,
                                              **({"position": position} if position else {}))
        except ClientError as error:
            if not_found(error):
                return found
            raise
        found.update({str(item["name"]): item for item in page.get("items", [])})
        position = page.get("position")
        if not position or not page.get("items"):
            return found


def models(target: Target, api_id: str) -> dict[str, dict[str, Any]]:
    """Every model of an API, by name."""
    return _named(target, "get_models", api_id)


def request_validators(target: Target, api_id: str) -> dict[str, dict[str, Any]]:
    """Every request validator of an API, by name."""
    return _named(target, "get_request_validators", api_id)


def deployments(target: Target, api_id: str) -> list[dict[str, Any]]:
    """Every deployment of an API."""
    paginator = target.client("apigateway").get_paginator("get_deployments")
    return [item for page in paginator.paginate(restApiId=api_id) for item in page.get("items", [])]


def get_stage(target: Target, api_id: str, stage: str) -> dict[str, Any] | None:
    """GetStage, or None."""
    try:
        found: dict[str, Any] = target.client("apigateway").get_stage(restApiId=api_id, stageName=stage)
    except ClientError as error:
        if not_found(error):
            return None
        raise
    return found


def stages(target: Target, api_id: str) -> list[str]:
    """Stage names of an API."""
    found = target.client("apigateway").get_stages(restApiId=api_id).get("item", [])
    return sorted(item["stageName"] for item in found)


def stage_arn(target: Target, api_id: str, stage: str) -> str:
    """The ARN API Gateway tags a stage by."""
    return f"arn:aws:apigateway:{target.region}::/restapis/{api_id}/stages/{stage}"


def stage_tags(target: Target, api_id: str, stage: str) -> dict[str, str]:
    """A stage's tags."""
    return dict(target.client("apigateway").get_tags(resourceArn=stage_arn(target, api_id, stage)).get("tags") or {})
