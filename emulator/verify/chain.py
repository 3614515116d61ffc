"""What a stage's request chain does for one path: every route a request can take, with its probability.

A request passes the stage canary (percentTraffic), the canary's stageVariableOverrides, the stage-variable
Lambda URI, the alias and its weights, then the version and its runtime (reference §2.3, §2.4; the AWS Lambda
guide, "Implement Lambda canary deployments using a weighted alias"). `chain_routes` walks that chain without
chance and `infer_split` says what actually differs between the routes and what share each side should get.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from emulator.apigateway.lambda_uri import parse_lambda_uri
from emulator.apigateway.model import ApiGatewayState, RestApi, Stage
from emulator.errors import UserError
from emulator.lambda_service.service import LATEST, LambdaService
from emulator.stage_variables import substitute_or_empty

DIMENSIONS = ("variant", "version", "runtime", "function")


@dataclass(frozen=True)
class Route:
    """One way through the chain: which variant, function, version and runtime, and how likely it is."""

    variant: str  # base | canary
    function: str | None
    qualifier: str | None
    version: str | None
    runtime: str | None
    probability: float
    alias_weighted: bool = False  # reached through a weighted alias
    primary: bool = True  # the base variant and the alias's primary version
    extra: bool = False  # the weighted alias's additional version

    def key(self, by: str) -> str | None:
        """The value this route has along one dimension (`variant`, `version`, `runtime`, `function`)."""
        return {"variant": self.variant, "version": self.version, "runtime": self.runtime,
                "function": self.function}[by]


def _variants(stage: Stage) -> list[tuple[str, float, str, dict[str, str]]]:
    """(name, probability, deployment, variables) of each side of a stage, as `choose_variant` picks them."""
    canary = stage.canary_settings
    percent = canary.percent_traffic if canary is not None else 0.0
    sides = []
    if percent < 100:
        sides.append(("base", 1 - percent / 100, stage.deployment_id, dict(stage.variables)))
    if canary is not None and percent > 0:
        merged = {**stage.variables, **(canary.stage_variable_overrides or {})}
        sides.append(("canary", percent / 100, canary.deployment_id or stage.deployment_id, merged))
    return sides


def find_stage(state: ApiGatewayState, stage_name: str | None, source: str) -> tuple[RestApi, str]:
    """The only REST API and the named (or only) stage of a stack; a clear error otherwise."""
    apis = list(state.apis.values())
    if len(apis) != 1:
        raise UserError(f"{source}: needs exactly one REST API (found {len(apis)})")
    stages = apis[0].stages
    name = stage_name or (next(iter(stages)) if len(stages) == 1 else None)
    if name is None or name not in stages:
        raise UserError(f"{source}: pick a stage with --stage ({', '.join(stages) or 'none defined'})")
    return apis[0], name


def chain_routes(api: RestApi, stage_name: str, lambdas: LambdaService, path: str,
                 method: str = "GET") -> list[Route]:
    """Every route a `method path` request on the stage can take, with its probability (they sum to 1)."""
    routes: list[Route] = []
    for variant, chance, deployment_id, variables in _variants(api.stages[stage_name]):
        deployment = api.deployments.get(deployment_id)
        match = deployment.routes.match(path, method) if deployment is not None else None
        integration = match.method.integration if match is not None else None
        target = None
        if integration is not None and integration.type in ("AWS_PROXY", "AWS"):  # AWS: non-proxy Lambda
            uri, undefined = substitute_or_empty(integration.uri or "", variables)
            target = None if undefined else parse_lambda_uri(uri)
        record = lambdas.functions.get(target.function_name) if target is not None else None
        if target is None or record is None:
            routes.append(Route(variant, None, None, None, None, chance, primary=variant == "base"))
            continue
        qualifier = target.qualifier
        alias = record.aliases.get(qualifier) if qualifier and not qualifier.isdigit() else None
        if alias is None:
            version = record.running_latest if qualifier in (None, LATEST) else record.versions.get(qualifier or "")
            routes.append(Route(variant, record.name, qualifier, version.version if version else None,
                                version.runtime.name if version else None, chance, primary=variant == "base"))
            continue
        weights = alias.additional_version_weights
        picks = [(alias.function_version, 1 - sum(weights.values()), True),
                 *((extra, weight, False) for extra, weight in weights.items())]
        for chosen, weight, primary in picks:
            version = record.running_latest if chosen == LATEST else record.versions.get(chosen)
            routes.append(Route(variant, record.name, qualifier, chosen, version.runtime.name if version else None,
                                chance * weight, alias_weighted=bool(weights), primary=primary and variant == "base",
                                extra=not primary))
    return [route for route in routes if route.probability > 0]


@dataclass(frozen=True)
class SplitPlan:
    """How to classify a split and what share the canary group should get."""

    by: str
    canary_key: str
    expected_percent: float
    reason: str


def share(routes: Iterable[Route], by: str, key: str) -> float:
    """The percent of requests whose route has `key` along `by`."""
    return 100 * sum(route.probability for route in routes if route.key(by) == key)


def _differs(routes: list[Route], by: str) -> bool:
    return len({route.key(by) for route in routes}) > 1


def infer_split(routes: list[Route], by: str | None = None, canary_key: str | None = None) -> SplitPlan:
    """What to test: by the stage variant when the canary is the only chance in the chain, else by runtime when
    two runtimes are reached, else by the alias's version; the canary group is the one off the primary route
    (the base variant and the alias's primary version). `by`/`canary_key` given by the user are kept."""
    if not routes:
        raise UserError("no request reaches the stage")
    variant_chance = _differs(routes, "variant")
    alias_chance = any(route.alias_weighted for route in routes)
    if by is None:
        if variant_chance and not alias_chance:
            by = "variant"
        elif _differs(routes, "runtime"):
            by = "runtime"
        elif alias_chance:
            by = "version"
        elif variant_chance:
            by = "variant"
        else:
            only = routes[0]
            raise UserError(f"nothing to split: every request goes to {_describe(only)}; give the stage a canary "
                            "(canarySettings.percentTraffic) or the alias routingConfig weights")
    if canary_key is None:
        if by == "variant":
            canary_key = "canary"
        else:
            primary = {route.key(by) for route in routes if route.primary}
            others = sorted({str(route.key(by)) for route in routes if route.key(by) not in primary})
            if len(others) != 1:
                found = sorted({str(route.key(by)) for route in routes})
                raise UserError(f"--by {by}: cannot tell which group is the canary (groups {', '.join(found)}); "
                                "name it with --canary-key")
            canary_key = others[0]
    expected = share(routes, by, canary_key)
    parts = [f"{route.probability:.2%} {_describe(route)}" for route in routes]
    return SplitPlan(by, canary_key, expected, "routes: " + "; ".join(parts))


def _describe(route: Route) -> str:
    if route.function is None:
        return f"{route.variant}: no Lambda function"
    target = route.function + (f":{route.qualifier}" if route.qualifier else "")
    version = f" v{route.version}" if route.version and route.version != route.qualifier else ""
    return f"{route.variant} -> {target}{version} ({route.runtime})"

