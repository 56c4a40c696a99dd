"""Errors raised by the client: one class per kind of failure, all subclasses of :class:`LoopaiError`."""

from __future__ import annotations

import json
from typing import Any, Dict, Optional, Type


class LoopaiError(Exception):
    """A failed call.

    ``status`` is the HTTP status (``None`` when no answer came back), ``code`` and ``message`` come from the
    server's ``{"error": {code, message, details}}`` body, and ``details`` is its optional ``details`` object.
    ``retry_after`` is the wait in seconds the server asked for (``Retry-After``), if any.
    """

    def __init__(
        self,
        status: Optional[int],
        code: str,
        message: str,
        details: Any = None,
        *,
        retry_after: Optional[float] = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.retry_after = retry_after

    def __str__(self) -> str:
        where = f"HTTP {self.status}" if self.status is not None else "no response"
        return f"{self.message} ({where}, {self.code})"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status!r}, code={self.code!r}, message={self.message!r})"


class AuthenticationError(LoopaiError):
    """401: the API key is missing or not valid."""


class ForbiddenError(LoopaiError):
    """403: the key may not do this (an execute-only key, or a key limited to other Loop Apps)."""


class NotFoundError(LoopaiError):
    """404: no such Loop App, version, job or route."""


class ValidationError(LoopaiError):
    """400, 409, 413, 415 or 422: the request was refused as sent; ``details`` says why."""


class RateLimitError(LoopaiError):
    """429: the key is over its rate limit; ``retry_after`` is how many seconds to wait."""


class UnavailableError(LoopaiError):
    """503: the server or the Loop App cannot serve now (starting, paused, no loadable version)."""


class ServerError(LoopaiError):
    """Any other 5xx: the server failed; its log has the details."""


class LoopaiTimeoutError(LoopaiError):
    """No answer within the timeout (the request may still have been carried out)."""


class LoopaiConnectionError(LoopaiError):
    """The server could not be reached, or the connection broke before an answer came back."""


_BY_STATUS: Dict[int, Type[LoopaiError]] = {
    400: ValidationError,
    401: AuthenticationError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ValidationError,
    413: ValidationError,
    415: ValidationError,
    422: ValidationError,
    429: RateLimitError,
    503: UnavailableError,
}


def error_for_response(status: int, body: bytes, retry_after: Optional[float] = None) -> LoopaiError:
    """The error for a non-2xx answer, read from the server's error body when there is one."""
    cls = _BY_STATUS.get(status) or (ServerError if status >= 500 else LoopaiError)
    code, message, details = f"http_{status}", "", None
    try:
        error = json.loads(body.decode("utf-8")).get("error")
    except (ValueError, AttributeError):
        error = None
    if isinstance(error, dict):
        code = str(error.get("code") or code)
        message = str(error.get("message") or "")
        details = error.get("details")
    if not message:
        # Not the server's own error format (a proxy page, say): show the start of what came back.
        text = body[:200].decode("utf-8", "replace").strip()
        message = f"HTTP {status}" + (f": {text}" if text else "")
    return cls(status, code, message, details, retry_after=retry_after)
