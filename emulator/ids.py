"""Cheap identifiers for the hot path: request ids, trace ids, API Gateway's extended request ids.

None of them is a secret (the Runtime API's secret path comes from `secrets`), so they are drawn from one
`random.Random` seeded from the OS once, never from the canary's seeded generator: `str(uuid.uuid4())` and
`secrets.token_hex` read the OS generator on every call, 4% of a request's CPU under load (issue 19's py-spy
profile).
"""

from __future__ import annotations

import hashlib
import os
import random
import time

_RANDOM = random.Random(os.urandom(32))
_getrandbits = _RANDOM.getrandbits
# RFC 9562 version 4: version nibble 4, variant bits 10.
_CLEAR = ~((0xF << 76) | (0x3 << 62)) & ((1 << 128) - 1)
_SET = (0x4 << 76) | (0x2 << 62)


def uuid4() -> str:
    """A random (version 4) UUID in its 36-character text form."""
    text = f"{(_getrandbits(128) & _CLEAR) | _SET:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def hex_token(count: int) -> str:
    """`count` random bytes as hex."""
    return f"{_getrandbits(count * 8):0{count * 2}x}"


def trace_root() -> str:
    """An X-Ray trace root: `Root=1-<8 hex of the epoch seconds>-<24 hex>`."""
    return f"Root=1-{int(time.time()):08x}-{_getrandbits(96):024x}"


def random_bytes(count: int) -> bytes:
    """`count` random bytes (not for secrets)."""
    return _RANDOM.randbytes(count)


def stable_api_id(api_name: str) -> str:
    """The stable 10-character id of a config API without a configured `id`, derived from its name."""
    digest = hashlib.sha256(api_name.encode()).digest()
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(alphabet[byte % len(alphabet)] for byte in digest[:10])
