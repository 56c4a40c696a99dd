"""HTTP transport: one request with JSON in and out, retried where a retry is safe."""

from __future__ import annotations

import http.client
import json
import random
import socket
import time
from email.utils import parsedate_to_datetime
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple
from urllib.parse import quote, urlencode, urlsplit

from ._version import __version__
from .errors import LoopaiConnectionError, LoopaiError, LoopaiTimeoutError, error_for_response

USER_AGENT = f"loopai-python/{__version__}"

#: First backoff step in seconds; each retry doubles it up to BACKOFF_CAP.
BACKOFF_BASE = 0.5
BACKOFF_CAP = 8.0


class RawBody:
    """A body sent as it is, not as JSON: labelled rows as JSON Lines or CSV, say."""

    def __init__(self, data: bytes, content_type: str) -> None:
        self.data = data
        self.content_type = content_type


def retry_after_seconds(value: Optional[str], now: Optional[float] = None) -> Optional[float]:
    """``Retry-After`` as seconds from now: either a number of seconds or an HTTP date; None if absent or garbled."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None or when.tzinfo is None:  # HTTP dates are always GMT; anything else is not one
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def backoff_seconds(attempt: int) -> float:
    """Exponential backoff with jitter: half the step fixed, half random, so clients that failed together spread."""
    step = min(BACKOFF_CAP, BACKOFF_BASE * (2**attempt))
    return step / 2 + random.uniform(0, step / 2)


def path_part(value: str) -> str:
    """One path segment (an app id, a version, a job id), escaped so it cannot reach another route."""
    return quote(str(value), safe="")


class _Server:
    """One base URL, taken apart once."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"base_url must be an http:// or https:// URL, got {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.https = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port
        self.prefix = parts.path.rstrip("/")


class Transport:
    """Sends requests to a Loopai server, or to the first of several that answers (a cloud's edges, say).

    Holds no connection between calls, so one instance may be shared by threads.
    """

    def __init__(
        self,
        base_urls: Sequence[str],
        api_key: Optional[str],
        timeout: float,
        max_retries: int,
    ) -> None:
        if not base_urls:
            raise ValueError("base_url must name at least one server")
        self._servers = [_Server(url.strip()) for url in base_urls]
        if max_retries < 0:
            raise ValueError("max_retries must be 0 or more")
        #: The server calls go to: the first, until it fails and another answers (the client stays with that one).
        self._current = 0
        self.api_key = api_key
        self.timeout = timeout
        self.max_retries = max_retries

    @property
    def base_url(self) -> str:
        return self._servers[self._current].base_url

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        query: Optional[Mapping[str, Any]] = None,
        json_lines: bool = False,
    ) -> Any:
        """The parsed JSON answer of a 2xx response; otherwise raises the matching :class:`LoopaiError`.

        Retried up to ``max_retries`` times: connection failures, 429 and 503 always (the server did not act on
        the request), other 5xx only for GET (a POST may have been carried out). Timeouts are not retried. With
        several base URLs, a connection failure or a 503 goes to the next server at once, once per server, before
        any backoff (failing over is not counted as a retry).
        """
        target = path
        if query:
            pairs = {k: _query_value(v) for k, v in query.items() if v is not None}
            if pairs:
                target += "?" + urlencode(pairs)
        accept = "application/x-ndjson" if json_lines else "application/json"
        headers = {"Accept": accept, "User-Agent": USER_AGENT}
        payload: Optional[bytes] = None
        if isinstance(body, RawBody):
            payload = body.data
            headers["Content-Type"] = body.content_type
        elif body is not None:
            payload = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"

        others = len(self._servers) - 1  # servers this call may still fail over to at once

        def fail_over() -> bool:
            nonlocal others
            if others <= 0:
                return False
            others -= 1
            self._current = (self._current + 1) % len(self._servers)
            return True

        attempt = 0
        while True:
            try:
                status, retry_after, raw = self._send(method, target, payload, headers)
            except LoopaiConnectionError:
                if fail_over():
                    continue
                if attempt >= self.max_retries:
                    raise
                time.sleep(backoff_seconds(attempt))
                attempt += 1
                continue
            if 200 <= status < 300:
                if json_lines:
                    return [_parse_json(status, line) for line in raw.splitlines() if line.strip()]
                return _parse_json(status, raw)
            if status == 503 and fail_over():
                continue
            error = error_for_response(status, raw, retry_after)
            retryable = status in (429, 503) or (status >= 500 and method == "GET")
            if not retryable or attempt >= self.max_retries:
                raise error
            time.sleep(_wait_for(error, attempt))
            attempt += 1

    def _send(
        self, method: str, target: str, payload: Optional[bytes], headers: Dict[str, str]
    ) -> Tuple[int, Optional[float], bytes]:
        server = self._servers[self._current]
        cls = http.client.HTTPSConnection if server.https else http.client.HTTPConnection
        conn = cls(server.host, server.port, timeout=self.timeout)
        try:
            conn.request(method, server.prefix + target, body=payload, headers=headers)
            response = conn.getresponse()
            raw = response.read()
            return response.status, retry_after_seconds(response.getheader("Retry-After")), raw
        except socket.timeout as exc:  # before OSError: it is one (and TimeoutError itself from Python 3.10)
            raise LoopaiTimeoutError(
                None,
                "timeout",
                f"{method} {server.base_url}{target} got no answer within {self.timeout} s",
            ) from exc
        except (OSError, http.client.HTTPException) as exc:
            raise LoopaiConnectionError(
                None,
                "connection_error",
                f"{method} {server.base_url}{target} failed: {exc or type(exc).__name__}",
            ) from exc
        finally:
            conn.close()


def _wait_for(error: LoopaiError, attempt: int) -> float:
    """The server's Retry-After when it gave one (never less; a little jitter on top), else the backoff step."""
    if error.retry_after is not None:
        return error.retry_after + random.uniform(0, min(1.0, error.retry_after * 0.1))
    return backoff_seconds(attempt)


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _parse_json(status: int, raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw.decode("utf-8"))
    except ValueError as exc:
        snippet = raw[:200].decode("utf-8", "replace")
        raise LoopaiError(status, "invalid_response", f"the server answered with something that is not JSON: {snippet!r}") from exc
