"""The integration request of a non-proxy integration (AWS, HTTP, MOCK): the mapping template chosen by the
request's Content-Type, and `passthroughBehavior` when none is chosen.

AWS: "Method request behavior for payloads without mapping templates"
(https://docs.aws.amazon.com/apigateway/latest/developerguide/integration-passthrough-behaviors.html):
WHEN_NO_MATCH passes an unmapped body through; WHEN_NO_TEMPLATES passes it through only when the integration has
no template at all, else 415; NEVER answers 415 whenever no template matches. A request without Content-Type is
taken as `application/json`.
"""

from __future__ import annotations

from dataclasses import dataclass

from emulator.apigateway.model import Integration

DEFAULT_CONTENT_TYPE = "application/json"


class UnsupportedMediaType(Exception):
    """No template for the Content-Type and passthroughBehavior forbids passing the body through (415)."""


@dataclass(frozen=True)
class RequestTemplate:
    """The template chosen (None: pass the body through) and the content type it was chosen for."""

    template: str | None
    content_type: str


def media_type(content_type: str | None) -> str:
    """`application/json; charset=utf-8` -> `application/json`; no Content-Type -> application/json."""
    if not content_type:
        return DEFAULT_CONTENT_TYPE
    return content_type.split(";", 1)[0].strip().lower() or DEFAULT_CONTENT_TYPE


def choose_request_template(integration: Integration, content_type: str | None) -> RequestTemplate:
    """The template for this request, or passthrough; raises UnsupportedMediaType where AWS answers 415."""
    media = media_type(content_type)
    templates = integration.request_templates
    for key, template in templates.items():
        if key.lower() == media:
            return RequestTemplate(template, media)
    behavior = (integration.passthrough_behavior or "WHEN_NO_MATCH").upper()
    if behavior == "NEVER" or (behavior == "WHEN_NO_TEMPLATES" and templates):
        raise UnsupportedMediaType(media)
    return RequestTemplate(None, media)
