"""HTTP (non-proxy) integrations through the template engine: the request template is what the endpoint receives,
the upstream status selects the integration response by `selectionPattern`, whose template and responseParameters
(`integration.response.header.X`) answer (https://docs.aws.amazon.com/apigateway/latest/developerguide/
api-gateway-integration-settings-integration-response.html: for HTTP the pattern is matched against the status)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from support import call

from emulator.stack import StackOptions
from emulator.testing import StackThread


class _Upstream(BaseHTTPRequestHandler):
    """Echoes method, path and body; /items/gone answers 404."""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status = 404 if self.path.endswith("/gone") else 200
        answer = json.dumps({"method": self.command, "path": self.path, "body": json.loads(body or b"null"),
                             "contentType": self.headers.get("Content-Type")}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Upstream", "yes")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackThread]:
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), _Upstream)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    port = upstream.server_address[1]
    config = {"region": "us-east-1", "accountId": "123456789012", "backend": "process", "functions": {},
              "restApis": {"http-api": {"resources": {"/items/{id}": {"POST": {"integration": {
                  "type": "HTTP", "uri": f"http://127.0.0.1:{port}/items/{{id}}", "integrationHttpMethod": "POST",
                  "requestTemplates": {"application/json": '{"id": "$input.params(\'id\')", "v": "$stageVariables.v",'
                                                           ' "name": $input.json(\'$.name\')}'},
                  "integrationResponses": {
                      "200": {"responseTemplates": {"application/json": '{"upstream": $input.json(\'$\')}'},
                              "responseParameters": {"method.response.header.X-Up":
                                                     "integration.response.header.X-Upstream"}},
                      "404": {"selectionPattern": "404", "responseTemplates": {"application/json": '{"gone": true}'}},
                  }}}}},
                  "stages": {"prod": {"variables": {"v": "one"}}}}}}
    path = tmp_path_factory.mktemp("http") / "canary.yaml"
    path.write_text(yaml.safe_dump(config))
    try:
        with StackThread(Path(path), StackOptions(port=0, seed=1, function_logs=False)) as running:
            yield running
    finally:
        upstream.shutdown()


def test_the_endpoint_receives_the_rendered_template(stack: StackThread) -> None:
    """POST /items/7 {"name": "rex"}: the endpoint got the template's JSON at /items/7 with integrationHttpMethod;
    the default response renders it back and maps the upstream header."""
    reply = call(stack.url, "POST", "/prod/items/7?ignored=1", [("Content-Type", "application/json")],
                 b'{"name": "rex"}')
    assert reply.status == 200
    assert reply.json() == {"upstream": {"method": "POST", "path": "/items/7", "contentType": "application/json",
                                         "body": {"id": "7", "v": "one", "name": "rex"}}}
    assert reply.header("X-Up") == "yes"


def test_the_upstream_status_selects_the_response(stack: StackThread) -> None:
    """The endpoint answers 404: `selectionPattern: "404"` gives the mapped 404 and its template."""
    reply = call(stack.url, "POST", "/prod/items/gone", [("Content-Type", "application/json")], b'{"name": "x"}')
    assert (reply.status, reply.json()) == (404, {"gone": True})
    assert reply.header("X-Up") is None
