"""LoopaiClient: every endpoint of the Loopai HTTP API as a method that returns the parsed JSON answer."""

from __future__ import annotations

import copy
import os
import time
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Union

from ._http import RawBody, Transport, path_part
from .errors import LoopaiError, LoopaiTimeoutError

JSON = Dict[str, Any]

DEFAULT_URL = "http://127.0.0.1:8080"


class LoopaiClient:
    """A client for one Loopai server, optionally bound to one Loop App.

    >>> from loopai import LoopaiClient
    >>> LoopaiClient("spam-detector-001").execute({"text": "You won a FREE cruise"})["output"]
    'spam'

    ``base_url`` is a server, or a list of several (a cloud's edges, say: a call fails over to the next on a
    connection failure or a 503); it defaults to the ``LOOPAI_URL`` environment variable (comma-separated for
    several), then ``http://127.0.0.1:8080``;
    ``api_key`` to ``LOOPAI_API_KEY`` (sent as ``Authorization: Bearer <key>``). ``timeout`` is in seconds per
    request; ``max_retries`` is how often a request is retried after a connection failure, a 429 or a 503 (and
    any 5xx for a GET), with exponential backoff and jitter, waiting at least the server's ``Retry-After``.

    Methods that concern one Loop App use the app the client is bound to; :meth:`for_app` gives a client for
    another. Every method returns the server's JSON answer as a dict and raises a :class:`~loopai.LoopaiError`
    subclass on failure.
    """

    def __init__(
        self,
        app_id: Optional[str] = None,
        *,
        base_url: Union[str, Sequence[str], None] = None,
        api_key: Optional[str] = None,
        timeout: float = 10.0,
        max_retries: int = 3,
    ) -> None:
        self.app_id = app_id
        given = base_url or os.environ.get("LOOPAI_URL") or DEFAULT_URL
        self._transport = Transport(
            given.split(",") if isinstance(given, str) else list(given),
            api_key if api_key is not None else os.environ.get("LOOPAI_API_KEY"),
            timeout,
            max_retries,
        )

    @property
    def base_url(self) -> str:
        return self._transport.base_url

    def __repr__(self) -> str:  # never shows the key
        return f"LoopaiClient(app_id={self.app_id!r}, base_url={self.base_url!r})"

    def for_app(self, app_id: str) -> "LoopaiClient":
        """A client with the same servers, key and settings, bound to ``app_id`` (it fails over with this one)."""
        other = copy.copy(self)
        other.app_id = app_id
        return other

    # --- executing -------------------------------------------------------------------------------------------

    def execute(self, input: Any) -> JSON:
        """Runs the app's active program: ``{execution_id, loop_app_id, version, output, confidence, latency_ms, sampled}``."""
        return self._app_call("POST", "/execute", {"input": input})

    def execute_batch(self, inputs: Iterable[Any]) -> JSON:
        """Up to 1000 inputs in one call: ``{"results": [...]}`` in order, a failed item as ``{"error": {...}}``."""
        return self._app_call("POST", "/execute/batch", {"inputs": list(inputs)})

    # --- Loop Apps --------------------------------------------------------------------------------------------

    def apps(self) -> JSON:
        """All Loop Apps: ``{"loop_apps": [...], "load_errors": {id: message}}``."""
        return self._call("GET", "/loop-apps")

    def app(self) -> JSON:
        """The bound app's settings and state (``active_version``, ``serving_version``, ``accuracy``, …)."""
        return self._app_call("GET", "")

    def create_app(self, spec: Mapping[str, Any]) -> JSON:
        """Creates a Loop App from ``spec`` (``loop_app_id``, ``task``, ``input_schema``, ``output_schema``, …).

        With ``program`` the answer is the app plus its ``version`` (201); with ``examples`` only, a generation job
        ``{job_id, loop_app_id, state, job_url}`` (202) to pass to :meth:`wait_for_job`.
        """
        return self._call("POST", "/loop-apps", dict(spec))

    def update_app(self, settings: Mapping[str, Any]) -> JSON:
        """Changes some settings (sampling, validation, improvement, …); answers with the app."""
        return self._app_call("PATCH", "", dict(settings))

    def pause(self) -> JSON:
        return self._app_call("POST", "/pause")

    def resume(self) -> JSON:
        return self._app_call("POST", "/resume")

    def archive(self) -> JSON:
        return self._app_call("POST", "/archive")

    def add_examples(self, examples: Iterable[Mapping[str, Any]]) -> JSON:
        """Adds labelled ``{"input": …, "output": …}`` rows: ``{added, total}``."""
        return self._app_call("POST", "/examples", {"examples": [dict(e) for e in examples]})

    def upload_examples(
        self,
        data: Union[str, bytes],
        format: str = "jsonl",
        input: Optional[Sequence[str]] = None,
        output: Optional[Sequence[str]] = None,
    ) -> JSON:
        """Adds labelled rows from a file's text or bytes: ``{added, total}``.

        ``format`` is ``"jsonl"`` (``{input, output}`` a line) or ``"csv"`` (a header row; ``input`` names the
        input columns, ``output`` the output column or one column per field of an object output). The server reads
        it row by row up to its ``max_examples_bytes`` (200 MiB by default), not its smaller JSON body limit; one
        bad row refuses the whole upload (400 ``invalid_examples``, the first 100 bad rows by line number).
        """
        if format not in ("jsonl", "csv"):
            raise ValueError(f"format must be 'jsonl' or 'csv', not {format!r}")
        raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
        kind = "text/csv" if format == "csv" else "application/x-ndjson"
        query = {"input": ",".join(input) if input else None, "output": ",".join(output) if output else None}
        return self._app_call("POST", "/examples", RawBody(raw, kind), query)

    def export_examples(self) -> List[JSON]:
        """Every labelled row of the app, as the server stores them (read from its JSON Lines export)."""
        return self._app_call("GET", "/examples", json_lines=True)

    # --- shared artifacts -------------------------------------------------------------------------------------

    def shared_artifacts(self) -> JSON:
        """``{"artifacts": [...]}``: every shared artifact, each with the retained versions that pin it."""
        return self._call("GET", "/shared/artifacts")

    def shared_artifact(self, type: str, name: str, version: str) -> JSON:
        """One shared artifact: files, hash and ``dependents``."""
        return self._call("GET", _shared_path(type, name, version))

    def publish_shared_artifact(
        self, type: str, name: str, version: str, files: Mapping[str, str], description: Optional[str] = None
    ) -> JSON:
        """Publishes whole and immutable (``files``: name → text); other content under the same version is a 409."""
        body: Dict[str, Any] = {"type": type, "name": name, "version": version, "files": dict(files)}
        if description is not None:
            body["description"] = description
        return self._call("POST", "/shared/artifacts", body)

    def verify_shared_artifacts(self) -> JSON:
        """Every shared artifact read and every hash recomputed on the server: ``{"artifacts": [{…, "error"}]}``."""
        return self._call("POST", "/shared/artifacts/verify")

    def delete_shared_artifact(self, type: str, name: str, version: str) -> None:
        """Deletes one; a 409 (``details["dependents"]``) while a retained version pins it."""
        self._call("DELETE", _shared_path(type, name, version))

    # --- versions ---------------------------------------------------------------------------------------------

    def versions(self) -> JSON:
        """``{"versions": [...]}``, oldest first, each with its status and evaluation."""
        return self._app_call("GET", "/versions")

    def version(self, version: str) -> JSON:
        return self._app_call("GET", f"/versions/{path_part(version)}")

    def upload_version(self, code: str, files: Optional[Mapping[str, str]] = None) -> JSON:
        """Uploads a hand-written program as a new version (status ``testing`` until activated)."""
        upload: JSON = {"code": code}
        if files is not None:
            upload["files"] = dict(files)
        return self._app_call("POST", "/versions", upload)

    def regenerate(self) -> JSON:
        """Starts a job that makes a new version from the app's examples: ``{job_id, …}``."""
        return self._app_call("POST", "/versions", {"regenerate": True})

    def activate(self, version: str, force: bool = False) -> JSON:
        """``force=True`` activates a deprecated version too (else 409 ``version_deprecated``)."""
        return self._app_call("POST", f"/versions/{path_part(version)}/activate", {"force": force})

    def rollback(self, force: bool = False) -> JSON:
        """Makes the version before the active one active again (``force=True`` if that one is deprecated)."""
        return self._app_call("POST", "/rollback", {"force": force})

    def deprecate(self, version: str, reason: Optional[str] = None) -> JSON:
        """Marks a version deprecated: from then on it is activated or rolled back to only with ``force``."""
        body: JSON = {} if reason is None else {"reason": reason}
        return self._app_call("POST", f"/versions/{path_part(version)}/deprecate", body)

    def reinstate(self, version: str) -> JSON:
        """Takes a deprecation back."""
        return self._app_call("POST", f"/versions/{path_part(version)}/reinstate")

    # --- the improvement loop ---------------------------------------------------------------------------------

    def executions(self, limit: int = 50) -> JSON:
        """Recent executions, newest first: ``{"executions": [...]}``."""
        return self._app_call("GET", "/executions", query={"limit": limit})

    def feedback(self, execution_id: str, expected_output: Any) -> JSON:
        """Tells the server what an execution should have answered."""
        return self._app_call(
            "POST", "/feedback", {"execution_id": execution_id, "expected_output": expected_output}
        )

    def review_queue(self, limit: int = 50) -> JSON:
        """Samples waiting for an oracle (or, with oracle ``human``, for feedback): ``{"pending": [...], "total": n}``."""
        return self._app_call("GET", "/review-queue", query={"limit": limit})

    def validations(self, limit: int = 50, correct: Optional[bool] = None) -> JSON:
        """Oracle verdicts, newest first; ``correct=False`` gives only the disagreements."""
        return self._app_call("GET", "/validations", query={"limit": limit, "correct": correct})

    def analytics(self) -> JSON:
        """Per-day counts, latency, accuracy and oracle savings, plus a ``summary``."""
        return self._app_call("GET", "/analytics")

    def events(self, limit: int = 50) -> JSON:
        return self._app_call("GET", "/events", query={"limit": limit})

    def validate(self) -> JSON:
        """Runs the oracle over pending samples now."""
        return self._app_call("POST", "/validate")

    def improve(self) -> JSON:
        """Starts an improvement job: ``{job_id, …}``."""
        return self._app_call("POST", "/improve")

    # --- jobs -------------------------------------------------------------------------------------------------

    def job(self, job_id: str) -> JSON:
        """``{job_id, type, loop_app_id, state, progress, result, error, created_at, updated_at}``."""
        return self._call("GET", f"/jobs/{path_part(job_id)}")

    def wait_for_job(
        self, job_id: Union[str, Mapping[str, Any]], timeout: float = 60, interval: float = 0.5
    ) -> JSON:
        """Polls a job until it has succeeded, and returns it.

        ``job_id`` may also be the ``{job_id, …}`` answer that started the job. Raises :class:`LoopaiError` with
        code ``job_failed`` (the job in ``details["job"]``) if it failed, and :class:`LoopaiTimeoutError` with code
        ``job_timeout`` if it is still going after ``timeout`` seconds.
        """
        if isinstance(job_id, Mapping):
            job_id = str(job_id["job_id"])
        deadline = time.monotonic() + timeout
        while True:
            job = self.job(job_id)
            if job.get("state") == "succeeded":
                return job
            if job.get("state") == "failed":
                raise LoopaiError(
                    None, "job_failed", f"job {job_id} failed: {job.get('error') or 'no reason given'}", {"job": job}
                )
            left = deadline - time.monotonic()
            if left <= 0:
                raise LoopaiTimeoutError(
                    None,
                    "job_timeout",
                    f"job {job_id} is still {job.get('state')} after {timeout} s",
                    {"job": job},
                )
            time.sleep(min(interval, left))

    # --- plumbing ---------------------------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        body: Any = None,
        query: Optional[Mapping[str, Any]] = None,
        json_lines: bool = False,
    ) -> Any:
        return self._transport.request(method, path, body, query, json_lines)

    def _app_call(
        self,
        method: str,
        path: str,
        body: Any = None,
        query: Optional[Mapping[str, Any]] = None,
        json_lines: bool = False,
    ) -> Any:
        if not self.app_id:
            raise ValueError(
                "this client is not bound to a Loop App: LoopaiClient('app-id') or client.for_app('app-id')"
            )
        return self._call(method, f"/loop-apps/{path_part(self.app_id)}{path}", body, query, json_lines)


def _shared_path(type: str, name: str, version: str) -> str:
    return f"/shared/artifacts/{path_part(type)}/{path_part(name)}/{path_part(version)}"


__all__ = ["LoopaiClient", "DEFAULT_URL"]
