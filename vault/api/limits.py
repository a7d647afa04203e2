"""How much a request may send, and for how long.

Invariants: a body is never longer than :data:`MAX_JSON` bytes, or
:data:`MAX_BODY` for the endpoints that take imports and evidence files
(Starlette counts the bytes as they arrive and does not trust Content-Length);
and a body must arrive whole within :data:`BODY_SECONDS` of its first read, so a
slow client cannot hold one of the few body slots for ever.
"""

from __future__ import annotations

from typing import Final

import anyio
from starlette.types import Message, Receive

__all__ = ["BODY_SECONDS", "MAX_BODY", "MAX_JSON"]

MAX_BODY: Final = 16 * 1024 * 1024  # imports and evidence files
MAX_JSON: Final = 1024 * 1024  # one record, a search, an export request
BODY_SECONDS: Final = 300.0  # 16 MiB at about 450 kbit/s


def _body_deadline(receive: Receive, seconds: float) -> Receive:
    """``receive`` that raises TimeoutError if the request body is not complete within
    ``seconds`` of the first call; what comes after the body (a disconnect) may wait."""
    deadline: float | None = None
    done = False

    async def timed() -> Message:
        nonlocal deadline, done
        if done:
            return await receive()
        if deadline is None:
            deadline = anyio.current_time() + seconds
        with anyio.fail_after(max(0.0, deadline - anyio.current_time())):
            message = await receive()
        done = message["type"] != "http.request" or not message.get("more_body", False)
        return message

    return timed
