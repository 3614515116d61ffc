"""Canary operations on a deployed stage (UpdateStage patch operations, reference §2.5) or on a weighted Lambda
alias (RoutingConfig, reference §5.2): set the weight, promote, roll back, status."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from emulator.config import LoadedConfig
from emulator.deploy import state
from emulator.deploy.apply import deploy
from emulator.deploy.changes import Change
from emulator.deploy.desired import LAMBDA_URI, VARIABLE, UriRewriter, deployment_specs, digest
from emulator.deploy.errors import unknown_api, unknown_stage
from emulator.deploy.session import Target
from emulator.errors import UserError

ROLLBACK = "lambda-canary:rollback-"
TAG_VALUE_MAX = 256
TAG_KEY_MAX = 128
PROMOTE_OPERATIONS = [  # the documented promotion, exactly (reference §2.5)
    {"op": "replace", "path": "/canarySettings/percentTraffic", "value": "0.0"},
    {"op": "copy", "from": "/canarySettings/stageVariableOverrides", "path": "/variables"},
    {"op": "copy", "from": "/canarySettings/deploymentId", "path": "/deploymentId"},
]
REMOVE_CANARY = [{"op": "remove", "path": "/canarySettings"}]


def check_percent(percent: float) -> float:
    """A canary share in [0, 100]."""
    if not 0.0 <= percent <= 100.0:
        raise UserError(f"canary percent {percent:g} is outside 0..100")
    return float(percent)


def fingerprint(deployment_id: str, variables: dict[str, str]) -> str:
    """What a stage looks like right after a promotion, in tag-safe characters."""
    return f"{deployment_id}/{digest(variables)}"


def encode_variables(variables: dict[str, str]) -> list[str]:
    """Stage variables as base64 JSON in tag-sized chunks (tag values allow A-Za-z0-9+/=)."""
    text = base64.b64encode(json.dumps(variables, sort_keys=True, separators=(",", ":")).encode()).decode()
    return [text[index:index + TAG_VALUE_MAX] for index in range(0, len(text), TAG_VALUE_MAX)] or [""]


def decode_variables(tags: dict[str, str]) -> dict[str, str]:
    """The inverse of encode_variables over a stage's rollback tags."""
    count = int(tags.get(ROLLBACK + "variables-count", "0"))
    text = "".join(tags.get(f"{ROLLBACK}variables-{index}", "") for index in range(count))
    return dict(json.loads(base64.b64decode(text))) if text else {}


# ---- a stage ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StageRef:
    """A deployed stage: API name and id, stage name."""

    api_name: str
    api_id: str
    stage: str


def resolve_stage(target: Target, stage: str, api_name: str | None = None,
                  loaded: LoadedConfig | None = None) -> StageRef:
    """The stage named by --api NAME, or by --config FILE (its API that has the stage)."""
    if api_name is None:
        if loaded is None:
            raise UserError("name the API: --api NAME or --config FILE (or --alias FUNCTION:ALIAS)")
        names = [name for name, api in loaded.config.rest_apis.items() if stage in api.stages]
        if not names:
            known = sorted({name for api in loaded.config.rest_apis.values() for name in api.stages})
            raise UserError(f"{loaded.path.name}: no REST API has a stage {stage!r} (stages: {', '.join(known)})")
        api_name = names[0]
    found = state.find_api(target, api_name, managed_only=False)
    if found is None:
        raise unknown_api(api_name, target.region, (api.get("name", "") for api in state.rest_apis(target)))
    ref = StageRef(api_name, str(found["id"]), stage)
    if state.get_stage(target, ref.api_id, stage) is None:
        raise unknown_stage(api_name, stage, state.stages(target, ref.api_id))
    return ref


def _stage(target: Target, ref: StageRef) -> dict[str, Any]:
    found = state.get_stage(target, ref.api_id, ref.stage)
    if found is None:
        raise unknown_stage(ref.api_name, ref.stage, state.stages(target, ref.api_id))
    return found


def _update(target: Target, ref: StageRef, ops: list[dict[str, str]]) -> dict[str, Any]:
    result: dict[str, Any] = target.client("apigateway").update_stage(restApiId=ref.api_id, stageName=ref.stage,
                                                                      patchOperations=ops)
    return result


def _config_canary(target: Target, ref: StageRef, loaded: LoadedConfig) -> tuple[str | None, dict[str, str]]:
    """The config's canary for the stage: its AWS deployment id (found by marker) and overrides."""
    api = loaded.config.rest_apis.get(ref.api_name)
    settings = api.stages[ref.stage].canary_settings if api and ref.stage in api.stages else None
    if settings is None:
        return None, {}
    name = settings.deployment_id or api.stages[ref.stage].deployment_id  # type: ignore[union-attr]
    if name is None:
        return None, dict(settings.stage_variable_overrides)
    spec = deployment_specs(loaded, ref.api_name, UriRewriter(loaded, target.region, target.account_id))[name]
    found = next((item for item in state.deployments(target, ref.api_id)
                  if spec.marker in (item.get("description") or "")), None)
    if found is None:
        raise UserError(f"deployment {name} of {loaded.path.name} is not deployed ({spec.marker}); run "
                        f"`lambda-canary deploy {loaded.path.name} --stage {ref.stage}` first")
    return str(found["id"]), dict(settings.stage_variable_overrides)


def grant_for_config(target: Target, ref: StageRef, loaded: LoadedConfig) -> list[Change]:
    """The Lambda permissions for every function the config's stages and canaries can name (a permissions-only
    deploy), so a canary made from the config's overrides can invoke its function."""
    _plan, done = deploy(loaded, ref.stage, target, phases=("permissions",))
    return done.changes


def set_percent(target: Target, ref: StageRef, percent: float, loaded: LoadedConfig | None = None) -> list[str]:
    """Send `percent` of the stage's requests to its canary; creates the canary (from the config when given)."""
    check_percent(percent)
    stage = _stage(target, ref)
    ops = [{"op": "replace", "path": "/canarySettings/percentTraffic", "value": str(float(percent))}]
    notes = []
    if stage.get("canarySettings") is None:
        deployment_id, overrides = _config_canary(target, ref, loaded) if loaded else (None, {})
        if loaded is not None and overrides:
            notes += [f"granted: {change.label()}" for change in grant_for_config(target, ref, loaded)]
        if deployment_id:
            ops.append({"op": "replace", "path": "/canarySettings/deploymentId", "value": deployment_id})
        ops += [{"op": "replace", "path": f"/canarySettings/stageVariableOverrides/{name}", "value": value}
                for name, value in sorted(overrides.items())]
        if not overrides and not deployment_id:
            notes.append("the new canary serves the stage's own deployment and variables; pass --config FILE to "
                         "take its deployment and stageVariableOverrides from the config")
    _update(target, ref, ops)
    return notes


def promote(target: Target, ref: StageRef) -> dict[str, Any]:
    """Promote the canary exactly as AWS documents it, then remove the canary. The stage's previous deploymentId
    and variables are kept in its tags first, so `rollback` can restore them."""
    stage = _stage(target, ref)
    canary = stage.get("canarySettings")
    if canary is None:
        raise UserError(f"stage {ref.stage} of {ref.api_name} has no canary to promote")
    variables = dict(stage.get("variables") or {})
    promoted = {**variables, **(canary.get("stageVariableOverrides") or {})}
    chunks = encode_variables(variables)
    memory = {ROLLBACK + "deployment": str(stage["deploymentId"]), ROLLBACK + "variables-count": str(len(chunks)),
              ROLLBACK + "after": fingerprint(str(canary.get("deploymentId") or stage["deploymentId"]), promoted)}
    memory.update({f"{ROLLBACK}variables-{index}": chunk for index, chunk in enumerate(chunks)})
    target.client("apigateway").tag_resource(resourceArn=state.stage_arn(target, ref.api_id, ref.stage), tags=memory)
    _update(target, ref, PROMOTE_OPERATIONS)
    return _update(target, ref, REMOVE_CANARY)


def rollback(target: Target, ref: StageRef) -> str:
    """A live canary is removed (all traffic back to the stage's deployment). Without one, the last promotion is
    undone when the stage is still as that promotion left it."""
    stage = _stage(target, ref)
    tags = state.stage_tags(target, ref.api_id, ref.stage)
    variables = dict(stage.get("variables") or {})
    promoted = tags.get(ROLLBACK + "after") == fingerprint(str(stage["deploymentId"]), variables)
    canary = stage.get("canarySettings")
    if canary is not None and not (promoted and float(canary.get("percentTraffic", 0.0)) == 0.0):
        percent = float(canary.get("percentTraffic", 0.0))
        _update(target, ref, REMOVE_CANARY)
        return f"canary removed: the {percent:g}% it had go back to deployment {stage['deploymentId']}"
    if canary is not None:  # a promotion that stopped before removing its (0%) canary
        _update(target, ref, REMOVE_CANARY)
    if not promoted:
        raise UserError(f"stage {ref.stage} of {ref.api_name} has no canary, and no promotion to undo (it changed "
                        "since the last promotion, or none was made with lambda-canary)")
    previous_id, previous = tags[ROLLBACK + "deployment"], decode_variables(tags)
    ops = [{"op": "replace", "path": "/deploymentId", "value": previous_id}]
    ops += [{"op": "replace", "path": f"/variables/{name}", "value": value}
            for name, value in sorted(previous.items()) if variables.get(name) != value]
    ops += [{"op": "remove", "path": f"/variables/{name}"} for name in sorted(variables) if name not in previous]
    _update(target, ref, ops)
    return f"promotion undone: deployment {previous_id}, variables {previous}"


@dataclass
class Side:
    """One side of a stage (stable or canary): share, deployment, variables and what each method invokes."""

    name: str
    percent: float
    deployment_id: str
    deployment: str
    variables: dict[str, str]
    overrides: dict[str, str] = field(default_factory=dict)
    targets: dict[str, str] = field(default_factory=dict)


def stage_status(target: Target, ref: StageRef) -> list[Side]:
    """The stable side and (when there is one) the canary side, with the function each Lambda method resolves to."""
    stage = _stage(target, ref)
    descriptions = {item["id"]: item.get("description") or "" for item in state.deployments(target, ref.api_id)}
    canary = stage.get("canarySettings")
    variables = dict(stage.get("variables") or {})
    percent = float(canary.get("percentTraffic", 0.0)) if canary else 0.0
    sides = [Side("stable", 100.0 - percent, stage["deploymentId"], descriptions.get(stage["deploymentId"], ""),
                  variables)]
    if canary is not None:
        deployment_id = canary.get("deploymentId") or stage["deploymentId"]
        overrides = dict(canary.get("stageVariableOverrides") or {})
        sides.append(Side("canary", percent, deployment_id, descriptions.get(deployment_id, ""),
                          {**variables, **overrides}, overrides))
    methods = [(f"{name} {path}", method) for path, item in sorted(state.api_resources(target, ref.api_id).items())
               for name, method in sorted((item.get("resourceMethods") or {}).items())]
    for side in sides:
        for label, method in methods:
            side.targets[label] = _resolve(target, (method.get("methodIntegration") or {}), side.variables)
    return sides


def _resolve(target: Target, integration: dict[str, Any], variables: dict[str, str]) -> str:
    uri = integration.get("uri") or ""
    if integration.get("type") != "AWS_PROXY":
        return f"{integration.get('type', '?')} {uri}".strip()
    resolved = VARIABLE.sub(lambda match: variables.get(match.group(1), ""), uri)
    parsed = LAMBDA_URI.match(resolved)
    if parsed is None:
        return f"(no function: {resolved})"
    name, qualifier = parsed.group("name"), parsed.group("qualifier")
    reference = f"{name}:{qualifier}" if qualifier else name
    try:
        extra = {"Qualifier": qualifier} if qualifier else {}
        found = target.client("lambda").get_function_configuration(FunctionName=name, **extra)
    except ClientError as error:
        if state.not_found(error):
            return f"{reference} (missing)"
        raise
    return f"{reference} ({found.get('Runtime', '?')}, version {found.get('Version', '$LATEST')})"


# ---- a weighted alias -------------------------------------------------------------------------
@dataclass(frozen=True)
class AliasRef:
    """FUNCTION:ALIAS."""

    function: str
    alias: str

    @classmethod
    def parse(cls, text: str) -> AliasRef:
        """Parse `--alias FUNCTION:ALIAS`."""
        function, _, alias = text.partition(":")
        if not function or not alias:
            raise UserError(f"--alias {text!r}: expected FUNCTION:ALIAS, e.g. ping:live")
        return cls(function, alias)


def _alias(target: Target, ref: AliasRef) -> dict[str, Any]:
    try:
        found: dict[str, Any] = target.client("lambda").get_alias(FunctionName=ref.function, Name=ref.alias)
    except ClientError as error:
        if state.not_found(error):
            raise UserError(f"function {ref.function} has no alias {ref.alias} (or the function does not exist) "
                            f"in {target.region}") from None
        raise
    return found


def _weights(alias: dict[str, Any]) -> dict[str, float]:
    return dict((alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {})


def set_alias_weight(target: Target, ref: AliasRef, percent: float, version: str | None = None,
                     loaded: LoadedConfig | None = None) -> dict[str, Any]:
    """AdditionalVersionWeights := {version: percent / 100}; the version is --version, else the alias's current
    extra version, else the config's."""
    check_percent(percent)
    alias = _alias(target, ref)
    if version is None:
        version = next(iter(_weights(alias)), None)
    if version is None and loaded is not None:
        configured = loaded.config.functions.get(ref.function)
        routing = configured.aliases[ref.alias].routing_config if configured and ref.alias in configured.aliases \
            else None
        version = next(iter(routing.additional_version_weights), None) if routing else None
    if version is None:
        raise UserError(f"alias {ref.function}:{ref.alias} has no extra version; pass --version N")
    if version == alias["FunctionVersion"]:
        raise UserError(f"version {version} is already the primary version of {ref.function}:{ref.alias}")
    result: dict[str, Any] = target.client("lambda").update_alias(
        FunctionName=ref.function, Name=ref.alias,
        RoutingConfig={"AdditionalVersionWeights": {version: round(percent / 100.0, 5)}})
    return result


def alias_memory_key(alias: str) -> str:
    """The function tag that remembers an alias's state before its last promotion (keys are at most 128
    characters: a long alias name is replaced by a digest of it)."""
    key = f"{ROLLBACK}alias-{alias}"
    return key if len(key) <= TAG_KEY_MAX else f"{ROLLBACK}alias-{hashlib.sha256(alias.encode()).hexdigest()[:32]}"


def encode_alias_memory(previous: str, weights: dict[str, float], promoted: str) -> str:
    """`previous=1 weights=2:0.3 promoted=2`: letters, digits, spaces and `=.:/` only (Lambda's tag characters)."""
    pairs = "/".join(f"{version}:{weight!r}" for version, weight in sorted(weights.items()))
    return f"previous={previous} weights={pairs} promoted={promoted}"


def decode_alias_memory(text: str) -> tuple[str, dict[str, float], str] | None:
    """The inverse of encode_alias_memory, or None when the tag does not read as one."""
    fields = dict(item.partition("=")[::2] for item in text.split(" "))
    try:
        weights = {version: float(weight) for version, _, weight in
                   (pair.partition(":") for pair in fields["weights"].split("/") if pair)}
        previous, promoted = fields["previous"], fields["promoted"]
    except (KeyError, ValueError):
        return None
    return (previous, weights, promoted) if previous and promoted else None


def _function_arn(alias: dict[str, Any]) -> str:
    return str(alias["AliasArn"]).rsplit(":", 1)[0]


def promote_alias(target: Target, ref: AliasRef) -> dict[str, Any]:
    """FunctionVersion := the extra version; weights cleared. The alias's previous FunctionVersion and weights
    are kept in a function tag first, so `rollback` can restore them."""
    alias = _alias(target, ref)
    weights = _weights(alias)
    extra = next(iter(weights), None)
    if extra is None:
        raise UserError(f"alias {ref.function}:{ref.alias} has no extra version to promote")
    memory = encode_alias_memory(str(alias["FunctionVersion"]), weights, extra)
    lam = target.client("lambda")
    lam.tag_resource(Resource=_function_arn(alias), Tags={alias_memory_key(ref.alias): memory})
    result: dict[str, Any] = lam.update_alias(FunctionName=ref.function, Name=ref.alias, FunctionVersion=extra,
                                              RoutingConfig={"AdditionalVersionWeights": {}})
    return result


def rollback_alias(target: Target, ref: AliasRef) -> str:
    """Live weights are cleared (everything back to the primary version). Without weights, the last promotion is
    undone (the previous version and weights restored) when the alias is still as that promotion left it."""
    alias = _alias(target, ref)
    weights = _weights(alias)
    lam = target.client("lambda")
    revision = {"RevisionId": alias["RevisionId"]} if alias.get("RevisionId") else {}
    if weights:
        lam.update_alias(FunctionName=ref.function, Name=ref.alias, RoutingConfig={"AdditionalVersionWeights": {}},
                         **revision)
        shares = ", ".join(f"{100.0 * weight:g}% of version {version}" for version, weight in weights.items())
        return f"weights cleared: the {shares} go back to version {alias['FunctionVersion']}"
    arn, key = _function_arn(alias), alias_memory_key(ref.alias)
    memory = decode_alias_memory(dict(lam.list_tags(Resource=arn).get("Tags") or {}).get(key, ""))
    if memory is None or memory[2] != str(alias["FunctionVersion"]):
        raise UserError(f"alias {ref.function}:{ref.alias} has no extra version, and no promotion to undo (it changed "
                        "since the last promotion, or none was made with lambda-canary)")
    previous, previous_weights, _promoted = memory
    lam.update_alias(FunctionName=ref.function, Name=ref.alias, FunctionVersion=previous,
                     RoutingConfig={"AdditionalVersionWeights": previous_weights}, **revision)
    lam.untag_resource(Resource=arn, TagKeys=[key])  # a promotion is undone once
    shares = "".join(f", {100.0 * weight:g}% to version {version}" for version, weight in previous_weights.items())
    return f"promotion undone: version {previous}{shares}"


def alias_status(target: Target, ref: AliasRef) -> list[tuple[str, float, str]]:
    """(version, percent, runtime) for the primary version and the extra one."""
    alias = _alias(target, ref)
    weights = _weights(alias)
    rows = [(str(alias["FunctionVersion"]), 100.0 * (1.0 - sum(weights.values())))]
    rows += [(version, 100.0 * weight) for version, weight in weights.items()]
    out = []
    for version, percent in rows:
        found = target.client("lambda").get_function_configuration(FunctionName=ref.function, Qualifier=version)
        out.append((version, percent, str(found.get("Runtime", "?"))))
    return out
