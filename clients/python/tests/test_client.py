"""The Python client against the real Loopai server (built JavaScript, started as its own process)."""

from __future__ import annotations

import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.request
from email.utils import formatdate
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional
from unittest import mock

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the package from this folder, wherever the tests are run from

from loopai import (  # noqa: E402
    AuthenticationError,
    ForbiddenError,
    LoopaiClient,
    LoopaiConnectionError,
    LoopaiError,
    LoopaiTimeoutError,
    NotFoundError,
    RateLimitError,
    UnavailableError,
    ValidationError,
)
from loopai._http import retry_after_seconds  # noqa: E402

MAIN = HERE.parent.parent.parent / "dist" / "src" / "main.js"

SPAM_PROGRAM = """
function execute(input) {
  var words = JSON.parse(loopai.files['words.json']);
  var text = input.text.toLowerCase();
  var hits = words.filter(function (w) { return text.indexOf(w) >= 0; }).length;
  return { result: hits > 0 ? 'spam' : 'ham', confidence: hits > 0 ? 0.9 : 0.6 };
}"""
SPAM_FILES = {"words.json": '["win","prize","free"]'}
LENGTH_PROGRAM = (
    "function execute(input) { return { result: input.text.length > 20 ? 'spam' : 'ham', confidence: 0.5 }; }"
)


def spam_spec(app_id: str, **extra: Any) -> Dict[str, Any]:
    return {
        "loop_app_id": app_id,
        "name": "Spam test",
        "task": "Classify messages as spam or ham",
        "input_schema": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
        "output_schema": {"type": "string", "enum": ["spam", "ham"]},
        **extra,
    }


def labelled_examples() -> List[Dict[str, Any]]:
    """A few dozen labelled rows per class, with varied filler so the learner's held-out part is not trivial."""
    spam = ["win a free prize now", "claim your cash reward today", "you won the lottery click here",
            "urgent verify your bank account", "free bitcoin giveaway act fast", "limited offer free gift card"]
    ham = ["see you at lunch tomorrow", "the meeting moved to three", "can you send me the report",
           "the train is running late again", "dinner at our place on friday", "please review my pull request"]
    fillers = ["", " ok", " thanks", " see below", " regards", " :)"]
    return [
        {"input": {"text": f"{text}{filler} {i * 7 + j}"}, "output": label}
        for texts, label in ((spam, "spam"), (ham, "ham"))
        for i, text in enumerate(texts)
        for j, filler in enumerate(fillers)
    ]


def write_app(data_dir: Path, app_id: str) -> None:
    """A Loop App folder the way a person writes one: config.yaml, artifacts/v1/…, and a relative `active` link."""
    app_dir = data_dir / "loop-apps" / app_id
    v1 = app_dir / "artifacts" / "v1"
    v1.mkdir(parents=True)
    # JSON is YAML, so the standard library can write the config.
    (app_dir / "config.yaml").write_text(json.dumps(spam_spec(app_id), indent=2))
    (v1 / "program.js").write_text(SPAM_PROGRAM)
    for name, text in SPAM_FILES.items():
        (v1 / name).write_text(text)
    os.symlink("v1", app_dir / "artifacts" / "active")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LoopaiServer:
    """The real server as a child process on loopback, with its own data dir."""

    def __init__(self, data_dir: Path, env: Optional[Dict[str, str]] = None, port: Optional[int] = None) -> None:
        node = shutil.which("node")
        if not node:
            raise RuntimeError("node is not on PATH; the tests start the Loopai server with it")
        if not MAIN.exists():
            raise RuntimeError(f"{MAIN} is missing: build the server first (npm run build at the repository root)")
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.stderr = tempfile.TemporaryFile()
        child_env = {k: v for k, v in os.environ.items() if not k.startswith(("LOOPAI_", "OPENAI_"))}
        child_env.update(
            LOOPAI_DATA_DIR=str(data_dir),
            LOOPAI_HOST="127.0.0.1",
            LOOPAI_PORT=str(self.port),
            LOOPAI_LOG_LEVEL="warn",
            LOOPAI_GENERATOR="learner",  # generation jobs stay offline
            **(env or {}),
        )
        # cwd is the data dir so no config/loopai.yaml of the repository is read.
        self.proc = subprocess.Popen(
            [node, str(MAIN)], cwd=data_dir, env=child_env, stdout=subprocess.DEVNULL, stderr=self.stderr
        )

    def wait_ready(self, timeout: float = 20.0) -> "LoopaiServer":
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited with {self.proc.returncode}: {self._stderr_text()}")
            try:
                with urllib.request.urlopen(f"{self.url}/ready", timeout=1) as res:
                    if res.status == 200:
                        return self
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"the server was not ready within {timeout} s: {self._stderr_text()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.stderr.close()

    def _stderr_text(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read().decode("utf-8", "replace")[-2000:]


class ServerTestCase(unittest.TestCase):
    """One server for the class, with the app `spam-test` on disk; stopped and its data removed afterwards."""

    server_env: Dict[str, str] = {}

    @classmethod
    def setUpClass(cls) -> None:
        data = tempfile.mkdtemp(prefix="loopai-python-")
        cls.addClassCleanup(shutil.rmtree, data, ignore_errors=True)
        cls.data_dir = Path(data)
        write_app(cls.data_dir, "spam-test")
        cls.server = LoopaiServer(cls.data_dir, cls.server_env)
        cls.addClassCleanup(cls.server.stop)
        cls.server.wait_ready()

    def client(self, app_id: Optional[str] = "spam-test", **kwargs: Any) -> LoopaiClient:
        return LoopaiClient(app_id, base_url=self.server.url, **kwargs)

    def assertRaisesLoopai(self, cls: type, status: Optional[int], code: str, call: Callable[[], Any]) -> LoopaiError:
        with self.assertRaises(cls) as caught:
            call()
        self.assertIsInstance(caught.exception, LoopaiError)
        self.assertEqual((caught.exception.status, caught.exception.code), (status, code), str(caught.exception))
        return caught.exception


class ExecuteTest(ServerTestCase):
    def test_the_readme_usage_reads_the_server_from_the_environment(self) -> None:
        with mock.patch.dict(os.environ, {"LOOPAI_URL": self.server.url}):
            output = LoopaiClient("spam-test").execute({"text": "You win a FREE prize"})["output"]
        self.assertEqual(output, "spam")

    def test_execute_returns_the_response(self) -> None:
        result = self.client().execute({"text": "see you at lunch"})
        self.assertEqual(result["output"], "ham")
        self.assertEqual(result["confidence"], 0.6)
        self.assertEqual((result["loop_app_id"], result["version"]), ("spam-test", "v1"))
        self.assertIsInstance(result["execution_id"], str)
        self.assertIsInstance(result["sampled"], bool)  # sampling is random (5 % by default)

    def test_sampling_rate_1_samples_every_execution_and_rate_0_none(self) -> None:
        client = self.client("py-sampling")
        program = {"code": SPAM_PROGRAM, "files": SPAM_FILES}
        client.create_app(spam_spec("py-sampling", program=program, validation={"oracle": "human"}))

        def run(n: int) -> List[Dict[str, Any]]:
            return [client.execute({"text": f"message {i}"}) for i in range(n)]

        self.assertEqual(client.update_app({"sampling": {"rate": 1, "strategy": "random"}})["sampling"],
                         {"rate": 1, "strategy": "random"})
        sampled = run(20)
        self.assertEqual([r["sampled"] for r in sampled], [True] * 20)

        # A PATCH changes only what it names: the strategy stays random.
        self.assertEqual(client.update_app({"sampling": {"rate": 0}})["sampling"], {"rate": 0, "strategy": "random"})
        unsampled = run(20) + client.execute_batch([{"text": "a"}, {"text": "b"}])["results"]
        self.assertEqual([r["sampled"] for r in unsampled], [False] * 22)
        client.update_app({"sampling": {"strategy": "uncertainty"}})
        more = run(20)
        self.assertEqual([r["sampled"] for r in more], [False] * 20, "rate 0 samples nothing with either strategy")

        # The execution log says the same; only the sampled executions wait for review.
        deadline = time.monotonic() + 5
        logged: Dict[str, Dict[str, Any]] = {}
        while len(logged) < 62 and time.monotonic() < deadline:
            time.sleep(0.1)
            logged = {e["id"]: e for e in client.executions(limit=100)["executions"]}
        self.assertEqual(len(logged), 62)
        for r in sampled:
            self.assertEqual((logged[r["execution_id"]]["sampled"], logged[r["execution_id"]]["sample_rule"]),
                             (True, "random"))
        for r in unsampled + more:
            self.assertNotEqual(logged[r["execution_id"]].get("sampled"), True)
        self.assertEqual(client.review_queue(limit=100)["total"], 20)

    def test_batch_answers_in_order_with_per_item_errors(self) -> None:
        results = self.client().execute_batch([{"text": "free prize"}, {"nope": 1}, {"text": "lunch?"}])["results"]
        self.assertEqual([r.get("output") for r in results], ["spam", None, "ham"])
        self.assertEqual(results[1]["error"]["code"], "invalid_input")

    def test_unknown_app_and_job_are_not_found(self) -> None:
        client = self.client()
        error = self.assertRaisesLoopai(
            NotFoundError, 404, "not_found", lambda: client.for_app("no-such-app").execute({"text": "hi"})
        )
        self.assertIn("no-such-app", error.message)
        self.assertRaisesLoopai(NotFoundError, 404, "not_found", lambda: client.job("job_nope"))
        self.assertRaisesLoopai(NotFoundError, 404, "not_found", lambda: client.version("v9"))

    def test_invalid_input_and_settings_are_validation_errors_with_details(self) -> None:
        client = self.client()
        error = self.assertRaisesLoopai(ValidationError, 400, "invalid_input", lambda: client.execute({"nope": 1}))
        self.assertTrue(error.details, "details say which field is wrong")
        error = self.assertRaisesLoopai(
            ValidationError, 400, "invalid_settings", lambda: client.update_app({"sampling": {"rate": 3}})
        )
        self.assertIn("rate", json.dumps(error.details))

    def test_examples_and_executions_of_the_bound_app(self) -> None:
        client = self.client()
        added = client.add_examples([{"input": {"text": "free money"}, "output": "spam"}])
        self.assertEqual(added["added"], 1)
        self.assertGreaterEqual(added["total"], 1)
        done = client.execute({"text": "a message to find in the log"})
        # The execution log is written in the background; it shows up within its flush interval.
        deadline = time.monotonic() + 5
        ids: List[str] = []
        while done["execution_id"] not in ids and time.monotonic() < deadline:
            time.sleep(0.1)
            ids = [e["id"] for e in client.executions(limit=5)["executions"]]
        self.assertIn(done["execution_id"], ids)
        self.assertIn("spam-test", [a["loop_app_id"] for a in client.apps()["loop_apps"]])

    def test_upload_jsonl_and_csv_beyond_one_body_then_export(self) -> None:
        client = self.client("upload-test")
        client.create_app({**spam_spec("upload-test"), "generate": False})
        rows = [
            {"input": {"text": f"message {i} " + "padding " * 30}, "output": "spam" if i % 2 else "ham"}
            for i in range(5000)
        ]
        jsonl = "\n".join(json.dumps(r) for r in rows)
        self.assertGreater(len(jsonl), 1024 * 1024)  # larger than the JSON body limit
        self.assertEqual(client.upload_examples(jsonl)["added"], 5000)
        csv = b'text,label\n"free, free prize",spam\nlunch?,ham\n'
        self.assertEqual(client.upload_examples(csv, format="csv", input=["text"], output=["label"])["added"], 2)
        exported = [{"input": r["input"], "output": r["output"]} for r in client.export_examples()]
        self.assertEqual(len(exported), 5002)
        self.assertEqual(exported[0], rows[0])
        self.assertEqual(
            exported[-2:],
            [{"input": {"text": "free, free prize"}, "output": "spam"}, {"input": {"text": "lunch?"}, "output": "ham"}],
        )
        # one bad row: nothing stored, the row named by its line
        with self.assertRaises(ValidationError) as caught:
            client.upload_examples('{"input": {"text": "x"}, "output": "maybe"}')
        self.assertEqual(caught.exception.code, "invalid_examples")
        self.assertEqual(caught.exception.details["rows"][0]["line"], 1)
        self.assertEqual(len(client.export_examples()), 5002)
        with self.assertRaisesRegex(ValueError, "format must be"):
            client.upload_examples("", format="xml")

    def test_a_method_for_one_app_needs_an_app(self) -> None:
        with self.assertRaisesRegex(ValueError, "not bound to a Loop App"):
            self.client(None).execute({"text": "hi"})


class LifecycleTest(ServerTestCase):
    def test_create_upload_activate_rollback(self) -> None:
        client = self.client("py-lifecycle")
        created = client.create_app(spam_spec("py-lifecycle", program={"code": SPAM_PROGRAM, "files": SPAM_FILES}))
        self.assertEqual(created["current_version"], "v1")
        self.assertEqual(created["endpoint"], "/loop-apps/py-lifecycle/execute")
        self.assertRaisesLoopai(
            ValidationError, 409, "conflict",
            lambda: client.create_app(spam_spec("py-lifecycle", program={"code": SPAM_PROGRAM, "files": SPAM_FILES})),
        )

        long_text = {"text": "a fairly long message here"}
        uploaded = client.upload_version(LENGTH_PROGRAM)
        self.assertEqual((uploaded["version"], uploaded["status"], uploaded["parent"]), ("v2", "testing", "v1"))
        self.assertEqual(client.execute(long_text)["version"], "v1")

        self.assertEqual(client.activate("v2")["status"], "active")
        self.assertEqual((client.execute(long_text)["version"], client.execute(long_text)["output"]), ("v2", "spam"))
        self.assertEqual([v["status"] for v in client.versions()["versions"]], ["retired", "active"])
        self.assertEqual(client.version("v2")["generator"], "upload")

        rolled_back = client.rollback()
        self.assertEqual((rolled_back["version"], rolled_back["status"]), ("v1", "active"))
        self.assertEqual(client.app()["current_version"], "v1")
        self.assertRaisesLoopai(ValidationError, 409, "conflict", client.rollback)

        bad = self.assertRaisesLoopai(
            ValidationError, 422, "invalid_program", lambda: client.upload_version("function execute(input) { return {")
        )
        self.assertTrue(bad.message)

    def test_paused_app_is_unavailable_and_a_retry_finds_it_resumed(self) -> None:
        client = self.client("py-pause", max_retries=0)
        client.create_app(spam_spec("py-pause", program={"code": SPAM_PROGRAM, "files": SPAM_FILES}))
        self.assertEqual(client.pause()["status"], "paused")
        self.assertRaisesLoopai(UnavailableError, 503, "paused", lambda: client.execute({"text": "hi"}))

        # A 503 is retried: resume the app while a retrying client waits out its backoff.
        timer = threading.Timer(0.3, client.resume)
        timer.start()
        self.addCleanup(timer.join)
        self.addCleanup(timer.cancel)
        retrying = self.client("py-pause", max_retries=5)
        self.assertEqual(retrying.execute({"text": "hi"})["output"], "ham")

        self.assertEqual(client.archive()["status"], "archived")
        gone = self.assertRaisesLoopai(LoopaiError, 410, "archived", lambda: client.execute({"text": "hi"}))
        self.assertNotIsInstance(gone, (ValidationError, NotFoundError))

    def test_wait_for_a_generation_job(self) -> None:
        client = self.client("py-learned")
        accepted = client.create_app(spam_spec("py-learned", examples=labelled_examples()))
        self.assertIn(accepted["state"], ("queued", "running"))
        job = client.wait_for_job(accepted["job_id"], timeout=60, interval=0.1)
        self.assertEqual(job["state"], "succeeded")
        self.assertEqual(job["result"]["version"], "v1")
        self.assertEqual(client.execute({"text": "win a free prize now"})["output"], "spam")

        # The answer that started a job works as well; a finished job is returned at once.
        self.assertEqual(client.wait_for_job(accepted, timeout=0)["job_id"], accepted["job_id"])


class NetworkFailureTest(unittest.TestCase):
    def test_a_server_that_never_answers_times_out_without_retries(self) -> None:
        with socket.socket() as silent:
            silent.bind(("127.0.0.1", 0))
            silent.listen(8)  # connections complete in the kernel's backlog; nothing ever answers
            port = silent.getsockname()[1]
            client = LoopaiClient("spam-test", base_url=f"http://127.0.0.1:{port}", timeout=0.3, max_retries=3)
            started = time.monotonic()
            with self.assertRaises(LoopaiTimeoutError) as caught:
                client.execute({"text": "hi"})
            elapsed = time.monotonic() - started
        self.assertEqual((caught.exception.status, caught.exception.code), (None, "timeout"))
        self.assertGreaterEqual(elapsed, 0.3)
        self.assertLess(elapsed, 1.5, "a timed-out request may have been carried out, so it is not sent again")

    def test_a_closed_port_is_a_connection_error(self) -> None:
        client = LoopaiClient("spam-test", base_url=f"http://127.0.0.1:{free_port()}", max_retries=0)
        with self.assertRaises(LoopaiConnectionError) as caught:
            client.execute({"text": "hi"})
        self.assertEqual((caught.exception.status, caught.exception.code), (None, "connection_error"))

    def test_connection_errors_are_retried_until_the_server_is_up(self) -> None:
        data = Path(tempfile.mkdtemp(prefix="loopai-python-"))
        self.addCleanup(shutil.rmtree, data, ignore_errors=True)
        write_app(data, "spam-test")
        port = free_port()
        client = LoopaiClient("spam-test", base_url=f"http://127.0.0.1:{port}", max_retries=8)
        servers: List[LoopaiServer] = []

        def start() -> None:
            servers.append(LoopaiServer(data, port=port))

        # The port is closed when the call starts; the server comes up on it while the client backs off.
        timer = threading.Timer(0.5, start)
        self.addCleanup(lambda: [s.stop() for s in servers])
        self.addCleanup(timer.join)
        self.addCleanup(timer.cancel)
        timer.start()
        started = time.monotonic()
        self.assertEqual(client.execute({"text": "free prize"})["output"], "spam")
        self.assertGreaterEqual(time.monotonic() - started, 0.5)

    def test_retry_after_in_seconds_or_as_an_http_date(self) -> None:
        now = time.time()
        self.assertEqual(retry_after_seconds("3"), 3.0)
        self.assertEqual(retry_after_seconds("-1"), 0.0)
        self.assertAlmostEqual(retry_after_seconds(formatdate(now + 10, usegmt=True), now=now) or 0, 10, delta=1)
        self.assertEqual(retry_after_seconds(formatdate(now - 10, usegmt=True), now=now), 0.0)
        self.assertIsNone(retry_after_seconds("soon"))
        self.assertIsNone(retry_after_seconds(None))


class FailoverTest(ServerTestCase):
    """Several base URLs (a cloud's edges): a refused connection or a 503 sends the call to the next at once."""

    def test_a_call_fails_over_and_the_client_stays_with_the_server_that_answered(self) -> None:
        seen: List[str] = []

        class Busy(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (the handler's name is the method's)
                seen.append(self.path)
                body = b'{"error": {"code": "not_synced", "message": "not synced yet"}}'
                self.send_response(503)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        busy = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Busy)
        threading.Thread(target=busy.serve_forever, daemon=True).start()
        self.addCleanup(busy.server_close)
        self.addCleanup(busy.shutdown)
        dead = f"http://127.0.0.1:{free_port()}"
        busy_url = f"http://127.0.0.1:{busy.server_address[1]}"
        client = LoopaiClient("spam-test", base_url=[dead, busy_url, self.server.url], max_retries=0)
        started = time.monotonic()
        self.assertEqual(client.execute({"text": "free prize"})["output"], "spam")
        self.assertLess(time.monotonic() - started, 2.0, "failing over waits for no backoff")
        self.assertEqual(client.base_url, self.server.url)
        client.for_app("spam-test").execute({"text": "hello"})
        self.assertEqual(len(seen), 1, "later calls go straight to the server that answered")

    def test_several_servers_from_the_environment(self) -> None:
        dead = f"http://127.0.0.1:{free_port()}"
        with mock.patch.dict(os.environ, {"LOOPAI_URL": f"{dead},{self.server.url}"}):
            client = LoopaiClient("spam-test", max_retries=0)
        self.assertEqual(client.execute({"text": "free prize"})["output"], "spam")


class AuthTest(ServerTestCase):
    server_env = {
        "LOOPAI_API_KEYS": "admin:test-admin-key,execute:test-execute-key:another-app",
        "LOOPAI_RATE_LIMIT_PER_MINUTE": "2",
    }

    def test_no_key_or_a_wrong_key_is_an_authentication_error(self) -> None:
        with mock.patch.dict(os.environ, {"LOOPAI_API_KEY": ""}):
            anonymous = self.client()
        self.assertRaisesLoopai(AuthenticationError, 401, "unauthorized", lambda: anonymous.execute({"text": "hi"}))
        self.assertRaisesLoopai(AuthenticationError, 401, "unauthorized", anonymous.apps)
        wrong = self.client(api_key="not-a-key")
        self.assertRaisesLoopai(AuthenticationError, 401, "unauthorized", lambda: wrong.execute({"text": "hi"}))

    def test_a_key_limited_to_another_app_is_forbidden(self) -> None:
        limited = self.client(api_key="test-execute-key")
        self.assertRaisesLoopai(ForbiddenError, 403, "forbidden", lambda: limited.execute({"text": "hi"}))
        self.assertRaisesLoopai(ForbiddenError, 403, "forbidden", limited.apps)

    def test_over_the_rate_limit_a_retry_waits_for_retry_after(self) -> None:
        # The key from the environment, sent as a bearer token; the limit allows 2 calls a minute.
        with mock.patch.dict(os.environ, {"LOOPAI_API_KEY": "test-admin-key"}):
            client = self.client(max_retries=0)
        self.assertEqual(client.execute({"text": "free prize"})["output"], "spam")
        client.execute({"text": "free prize"})
        limited = self.assertRaisesLoopai(RateLimitError, 429, "rate_limited", lambda: client.execute({"text": "hi"}))
        assert limited.retry_after is not None
        self.assertGreater(limited.retry_after, 0)
        self.assertLessEqual(limited.retry_after, 30)

        patient = self.client(api_key="test-admin-key", max_retries=1)
        started = time.monotonic()
        self.assertEqual(patient.execute({"text": "free prize"})["output"], "spam")
        self.assertGreaterEqual(time.monotonic() - started, limited.retry_after - 1)


if __name__ == "__main__":
    unittest.main()
