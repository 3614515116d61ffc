"""The method response of a non-proxy integration: the status, body and headers the client receives.

The integration response's status applies unless the template set `$context.responseOverride.status` (an integer
100-599, else ignored, as LocalStack's AWS-validated override tests show); `$context.responseOverride.header.X`
overrides mapped headers (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-override-request-response-parameters.html).
"""

from __future__ import annotations

from typing import Any

from emulator.apigateway.gateway_responses import GatewayResponse


def method_response(status: str, body: str | bytes, content_type: str, headers: list[tuple[str, str]],
                    context: dict[str, Any]) -> GatewayResponse:
    """The client's response."""
    override = context.get("responseOverride") or {}
    code = _status(override.get("status")) or _status(status) or 200
    out = [("Content-Type", content_type)]
    overridden = {str(name).lower(): str(value) for name, value in (override.get("header") or {}).items()}
    for name, value in headers:
        if name.lower() == "content-type":
            out[0] = (name, value)
        elif name.lower() not in overridden:
            out.append((name, value))
    for name, value in (override.get("header") or {}).items():
        if str(name).lower() == "content-type":
            out[0] = ("Content-Type", str(value))
        else:
            out.append((str(name), str(value)))
    return GatewayResponse(code, body.encode() if isinstance(body, str) else body, out)


def _status(value: Any) -> int | None:
    try:
        code = int(str(value))
    except (TypeError, ValueError):
        return None
    return code if 100 <= code <= 599 else None
