"""Lambda authorizers (TOKEN and REQUEST) end to end on real Node processes.

AWS sources: "Input to an API Gateway Lambda authorizer" / "Output from an API Gateway Lambda authorizer"
(https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-lambda-authorizer-input.html,
.../api-gateway-lambda-authorizer-output.html), "Configure a Lambda authorizer" (identity sources, validation
expression, caching), the mapping template reference for `$context.authorizer.<key>` (stringified values).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from scipy.stats import binom
from support import call

from emulator.apigateway.authorizer import evaluate_policy
from emulator.stack import StackOptions
from emulator.testing import StackThread

CONFIG = Path(__file__).resolve().parent / "fixtures" / "nonproxy" / "nonproxy.yaml"
UNAUTHORIZED = b'{"message":"Unauthorized"}'


@pytest.fixture(scope="module")
def stack() -> Iterator[tuple[StackThread, list[str]]]:
    """tests/fixtures/nonproxy/nonproxy.yaml on real Node (authz-a on nodejs18.x, authz-b on nodejs22.x)."""
    lines: list[str] = []
    with StackThread(CONFIG, StackOptions(port=0, seed=11, function_logs=False), log=lines.append) as running:
        yield running, lines


def decisions(running: StackThread, last: int) -> list[dict[str, Any]]:
    """The gateway's last decision records."""
    reply = call(running.url, "GET", f"/_lambda_canary/decisions?last={last}")
    return list(reply.json()["decisions"])


def test_allow_passes_principal_and_context_to_the_handler(stack: tuple[StackThread, list[str]]) -> None:
    """Acceptance: an Allow reaches the proxy handler with `requestContext.authorizer` = context + principalId;
    the authorizer ran on its own runtime (authz-a, nodejs18.x) and the handler on nodejs22.x."""
    reply = call(stack[0].url, "GET", "/prod/secure", [("Authorization", "allow")])
    assert reply.status == 200
    body = reply.json()
    authorizer = body["authorizer"]
    assert authorizer["principalId"] == "user-a"
    assert (authorizer["fn"], authorizer["node"], authorizer["count"], authorizer["ok"]) == ("a", "v18.20.8", 1, True)
    assert authorizer["type"] == "TOKEN"
    assert body["runtime"] == "v22.23.3"


def test_context_reaches_templates_stringified(stack: tuple[StackThread, list[str]]) -> None:
    """`$context.authorizer.principalId` and `.key` in a non-proxy request template; numbers and booleans come as
    strings (`1` -> "1", `true` -> "true"), as the mapping template reference says."""
    reply = call(stack[0].url, "GET", "/prod/secure-mapped", [("Authorization", "allow")])
    assert reply.status == 200
    assert reply.json() == {"principal": "user-a", "fn": "a", "count": "1", "ok": "true"}


def test_explicit_deny_is_403(stack: tuple[StackThread, list[str]]) -> None:
    """Acceptance: a Deny policy answers 403 with AWS's body and AccessDeniedException."""
    reply = call(stack[0].url, "GET", "/prod/secure", [("Authorization", "deny")])
    assert reply.status == 403
    assert reply.body == b'{"Message":"User is not authorized to access this resource with an explicit deny"}'
    assert reply.header("x-amzn-ErrorType") == "AccessDeniedException"


def test_a_policy_that_does_not_cover_the_method_is_403(stack: tuple[StackThread, list[str]]) -> None:
    """The policy allows GET only: POST on the same resource is not covered (implicit deny)."""
    reply = call(stack[0].url, "POST", "/prod/secure", [("Authorization", "allow")])
    assert reply.status == 403
    assert reply.body == b'{"Message":"User is not authorized to access this resource"}'


def test_thrown_unauthorized_is_401(stack: tuple[StackThread, list[str]]) -> None:
    """Acceptance: the authorizer throws `Unauthorized`: 401 `{"message":"Unauthorized"}`."""
    reply = call(stack[0].url, "GET", "/prod/secure", [("Authorization", "unauthorized")])
    assert (reply.status, reply.body) == (401, UNAUTHORIZED)
    assert reply.header("x-amzn-ErrorType") == "UnauthorizedException"


@pytest.mark.parametrize("token", ["crash", "badcontext"])
def test_an_authorizer_failure_is_500(stack: tuple[StackThread, list[str]], token: str) -> None:
    """Any other error, or an answer API Gateway refuses (an object in `context`): 500 `{"message": null}`,
    AuthorizerConfigurationException."""
    reply = call(stack[0].url, "GET", "/prod/secure", [("Authorization", token)])
    assert (reply.status, reply.body) == (500, b'{"message": null}')
    assert reply.header("x-amzn-ErrorType") == "AuthorizerConfigurationException"


@pytest.mark.parametrize("headers", [[], [("Authorization", "Not-Lowercase")]])
def test_missing_or_invalid_token_is_401_without_invoking(stack: tuple[StackThread, list[str]],
                                                          headers: list[tuple[str, str]]) -> None:
    """No Authorization header, or one failing identityValidationExpression `^[a-z]+$`: 401, authorizer not run."""
    running = stack[0]
    reply = call(running.url, "GET", "/prod/secure", headers)
    assert (reply.status, reply.body) == (401, UNAUTHORIZED)
    record = decisions(running, 1)[-1]
    assert record["authorizer"] is None and record["error"] == "UNAUTHORIZED"


def test_request_authorizer_needs_every_identity_source(stack: tuple[StackThread, list[str]]) -> None:
    """REQUEST with identitySource `header.X-Token, querystring.q` (caching on): without `q`, 401 without
    invoking; with both, the event carries headers and stage variables (the authorizer echoes `authz`)."""
    running = stack[0]
    assert call(running.url, "GET", "/prod/request-auth", [("X-Token", "allow")]).status == 401
    reply = call(running.url, "GET", "/prod/request-auth?q=1", [("X-Token", "allow")])
    assert reply.status == 200
    authorizer = reply.json()["authorizer"]
    assert (authorizer["type"], authorizer["stageVar"]) == ("REQUEST", "authz-a")


def test_cache_serves_a_second_request_and_expires_after_the_ttl(stack: tuple[StackThread, list[str]]) -> None:
    """Acceptance: with authorizerResultTtlInSeconds 1, a second request with the same token within the TTL is
    served from the cache (same nonce, no invocation recorded); after the TTL the authorizer runs again."""
    running = stack[0]
    token = [("Authorization", "allow")]
    first = call(running.url, "GET", "/prod/cached", token).json()["authorizer"]["nonce"]
    first_record = decisions(running, 1)[-1]
    second = call(running.url, "GET", "/prod/cached", token).json()["authorizer"]["nonce"]
    second_record = decisions(running, 1)[-1]
    assert second == first
    assert (first_record["authorizer_cached"], second_record["authorizer_cached"]) == (False, True)
    other = call(running.url, "GET", "/prod/cached", [("Authorization", "allowother")]).json()["authorizer"]
    assert other["nonce"] != first  # the cache is keyed by identity
    time.sleep(1.2)  # past the 1 s TTL
    third = call(running.url, "GET", "/prod/cached", token).json()["authorizer"]["nonce"]
    assert third != first
    assert decisions(running, 1)[-1]["authorizer_cached"] is False


def test_canary_override_splits_the_authorizer(stack: tuple[StackThread, list[str]]) -> None:
    """Acceptance: on a 50 % canary whose override points `authz` at authz-b (nodejs22.x), base requests are
    authorized by authz-a (nodejs18.x) and canary requests by authz-b, each about half.

    n = 200 independent requests, canary count X ~ Binomial(200, 0.5). The accepted band [lo, hi] is the smallest
    symmetric band with P(X outside) <= 1e-6 (computed below), so a correct split fails with probability <= 1e-6.
    """
    running = stack[0]
    n = 200
    lo = int(binom.ppf(0.5e-6, n, 0.5))
    hi = n - lo
    assert binom.cdf(lo - 1, n, 0.5) + binom.sf(hi, n, 0.5) <= 1e-6
    by_function = {"a": 0, "b": 0}
    for _ in range(n):
        reply = call(running.url, "GET", "/canary50/secure", [("Authorization", "allow")])
        assert reply.status == 200
        authorizer = reply.json()["authorizer"]
        expected_node = {"a": "v18.20.8", "b": "v22.23.3"}[authorizer["fn"]]
        assert authorizer["node"] == expected_node
        by_function[authorizer["fn"]] += 1
    records = [record for record in decisions(running, 2 * n) if record["path"] == "/secure"
               and record["stage"] == "canary50"][-n:]
    assert all(record["authorizer"] == ("authz-b" if record["variant"] == "canary" else "authz-a")
               for record in records)
    assert lo <= by_function["b"] <= hi, (by_function, lo, hi)
    assert by_function["a"] + by_function["b"] == n


@pytest.mark.parametrize(("statements", "arn", "expected"), [
    ([{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "arn:aws:execute-api:*:*:api/*/GET/*"}],
     "arn:aws:execute-api:us-east-1:1:api/prod/GET/pets/1", True),
    ([{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": ["arn:aws:execute-api:*:*:api/prod/GET/p?ts"]}],
     "arn:aws:execute-api:us-east-1:1:api/prod/GET/pets", True),
    ([{"Effect": "Allow", "Action": "execute-api:*", "Resource": "*"},
      {"Effect": "Deny", "Action": "execute-api:Invoke", "Resource": "arn:aws:execute-api:*:*:api/*/DELETE/*"}],
     "arn:aws:execute-api:us-east-1:1:api/prod/DELETE/pets/1", False),
    ([{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "arn:aws:execute-api:*:*:api/*/GET/*"}],
     "arn:aws:execute-api:us-east-1:1:api/prod/POST/pets", None),
    ([{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
     "arn:aws:execute-api:us-east-1:1:api/prod/GET/pets", None),
])
def test_policy_evaluation(statements: list[dict[str, Any]], arn: str, expected: bool | None) -> None:
    """IAM evaluation of the returned policy against the method ARN: `*` and `?` wildcards in Resource and
    Action, an explicit Deny wins over an Allow, nothing covering the ARN is an implicit deny (None)."""
    assert evaluate_policy(statements, arn) is expected
