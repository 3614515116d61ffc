"""One rule for the mapping sources integration requests and integration responses share (static, stage variables,
context, body and body JSONPath): requestParameters and responseParameters read them alike."""

from __future__ import annotations

from typing import Any

from emulator.apigateway.integration_response import map_parameters
from emulator.apigateway.request_parameters import MethodRequest, map_request_parameters

BODY = '{"id": 7, "name": "\\"rex\\"", "none": null, "empty": "", "nested": {"a": [1, 2]}}'
CONTEXT: dict[str, Any] = {"stage": "prod", "flag": True, "off": False, "identity": {"sourceIp": "127.0.0.1"}}
STAGE_VARIABLES = {"env": "production"}
SHARED = ("'static'", "stageVariables.env", "stageVariables.missing", "context.stage", "context.flag", "context.off",
          "context.identity", "context.identity.sourceIp", "context.missing", "BODY", "BODY.id", "BODY.name",
          "BODY.none", "BODY.empty", "BODY.missing", "BODY.nested.a")


def _request_side(source: str, body: str) -> str | None:
    request = MethodRequest({}, {}, lambda _name: [], body)
    source = source.replace("BODY", "method.request.body")
    mapped = map_request_parameters({"integration.request.header.X": source}, request,
                                    stage_variables=STAGE_VARIABLES, context=CONTEXT)
    return mapped.header_value("X")


def _response_side(source: str, body: str) -> str | None:
    source = source.replace("BODY", "integration.response.body")
    mapped = dict(map_parameters({"method.response.header.X": source}, body=body, headers={}, context=CONTEXT,
                                 stage_variables=STAGE_VARIABLES))
    return mapped.get("X")


def test_request_and_response_mappings_read_shared_sources_alike() -> None:
    for body in (BODY, "", "not json"):
        for source in SHARED:
            assert _request_side(source, body) == _response_side(source, body), (source, body)
    assert _response_side("context.flag", BODY) == "true"  # as $context renders it, not Python's True
    assert _response_side("BODY.none", BODY) is None and _response_side("BODY.id", BODY) == "7"
