"""The front door's connection time limits: the server's defaults and the stack's options (read before the server
module, whose imports are most of `serve`'s start-up, is loaded)."""

HEADER_TIMEOUT = 10.0  # seconds for a request's line and headers to arrive whole
BODY_TIMEOUT = 30.0  # seconds without a byte of a request body
KEEPALIVE_TIMEOUT = 75.0  # seconds an idle kept-alive connection stays open (aiohttp's default)
