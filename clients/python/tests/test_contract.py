"""One contract: the Python client against the OpenAPI document the real server serves at ``GET /openapi.json``.

Every method's request (method, path, query parameters, JSON body) must be an operation of the document, and every
field the client reads from an answer, or promises in its docstrings, must be a property of that operation's
documented answer. A change of the API that the client does not follow fails here.
"""

from __future__ import annotations

import ast
import inspect
import json
import re
import sys
import unittest
import urllib.request
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Set, Tuple
from unittest import mock
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the helpers of test_client, however the tests are run

from test_client import LENGTH_PROGRAM, SPAM_FILES, SPAM_PROGRAM, ServerTestCase, spam_spec  # noqa: E402

import loopai  # noqa: E402  (the package from this folder: test_client puts it first on sys.path)
from loopai import LoopaiClient  # noqa: E402
from loopai._http import Transport  # noqa: E402

PACKAGE = Path(loopai.__file__).resolve().parent

Call = Callable[[LoopaiClient], Any]

#: Each public method, called so that it makes one request; and the fields of the answer it reads or promises
#: (``a.b`` for a nested field, ``a[].b`` for a field of the items of array ``a``).
METHODS: Dict[str, Tuple[Call, List[str]]] = {
    "execute": (
        lambda c: c.execute({"text": "hi"}),
        ["execution_id", "loop_app_id", "version", "output", "confidence", "latency_ms", "sampled"],
    ),
    "execute_batch": (
        lambda c: c.execute_batch([{"text": "hi"}, {"text": "there"}]),
        ["results", "results[].output", "results[].sampled", "results[].error.code", "results[].error.message",
         "results[].error.details"],
    ),
    "apps": (lambda c: c.apps(), ["loop_apps", "load_errors", "loop_apps[].loop_app_id"]),
    "app": (
        lambda c: c.app(),
        ["loop_app_id", "status", "current_version", "serving_version", "accuracy", "endpoint", "sampling.rate",
         "sampling.strategy"],
    ),
    "create_app": (
        lambda c: c.create_app(spam_spec("contract-app", program={"code": SPAM_PROGRAM, "files": SPAM_FILES})),
        # 201: the app and its first version; 202: a generation job
        ["current_version", "endpoint", "version", "job_id", "loop_app_id", "state", "job_url"],
    ),
    "update_app": (
        lambda c: c.update_app({"sampling": {"rate": 1, "strategy": "random"}, "execution": {"timeout_ms": 20}}),
        ["sampling.rate", "sampling.strategy"],
    ),
    "pause": (lambda c: c.pause(), ["status"]),
    "resume": (lambda c: c.resume(), ["status"]),
    "archive": (lambda c: c.archive(), ["status"]),
    "add_examples": (lambda c: c.add_examples([{"input": {"text": "hi"}, "output": "ham"}]), ["added", "total"]),
    "upload_examples": (
        lambda c: c.upload_examples("text,label\nhi,ham\n", format="csv", input=["text"], output=["label"]),
        ["added", "total"],
    ),
    "export_examples": (lambda c: c.export_examples(), []),
    "shared_artifacts": (lambda c: c.shared_artifacts(), []),
    "shared_artifact": (lambda c: c.shared_artifact("model", "base", "v1"), []),
    "publish_shared_artifact": (
        lambda c: c.publish_shared_artifact("model", "base", "v1", {"w.json": "[]"}, description="words"),
        [],
    ),
    "verify_shared_artifacts": (lambda c: c.verify_shared_artifacts(), []),
    "delete_shared_artifact": (lambda c: c.delete_shared_artifact("model", "base", "v1"), []),
    "versions": (lambda c: c.versions(), ["versions", "versions[].version", "versions[].status"]),
    "version": (lambda c: c.version("v7"), ["version", "status", "generator", "parent"]),
    "upload_version": (lambda c: c.upload_version(LENGTH_PROGRAM, {"a.json": "[]"}), ["version", "status", "parent"]),
    "regenerate": (lambda c: c.regenerate(), ["job_id", "state"]),
    "activate": (lambda c: c.activate("v7", force=True), ["version", "status"]),
    "rollback": (lambda c: c.rollback(force=True), ["version", "status"]),
    "deprecate": (lambda c: c.deprecate("v7", reason="too old"), ["version", "status"]),
    "reinstate": (lambda c: c.reinstate("v7"), ["version", "status"]),
    "executions": (
        lambda c: c.executions(limit=5),
        ["executions", "executions[].id", "executions[].sampled", "executions[].sample_rule"],
    ),
    "feedback": (
        lambda c: c.feedback("00000000-0000-4000-8000-000000000000", "spam"),
        ["execution_id", "program_output", "expected_output", "correct"],
    ),
    "review_queue": (lambda c: c.review_queue(limit=5), ["pending", "total", "pending[].execution_id"]),
    "validations": (lambda c: c.validations(limit=5, correct=False), ["validations", "validations[].correct"]),
    "analytics": (lambda c: c.analytics(), ["days", "summary"]),
    "events": (lambda c: c.events(limit=5), ["events"]),
    "validate": (lambda c: c.validate(), ["validated", "pending"]),
    "improve": (lambda c: c.improve(), ["job_id"]),
    "job": (
        lambda c: c.job("job_1"),
        ["job_id", "type", "loop_app_id", "state", "progress", "result", "error", "created_at", "updated_at"],
    ),
    "wait_for_job": (lambda c: c.wait_for_job({"job_id": "job_1"}), ["job_id", "state", "error"]),
}

#: Methods that make no request.
NO_REQUEST = {"for_app"}

#: What the client reads from an error answer (loopai/errors.py), against the document's `default` answer.
ERROR_FIELDS = ["error", "error.code", "error.message", "error.details"]

#: Where the client knowingly goes beyond the document: gaps of the document (src/domain/api-schemas.ts,
#: src/http/openapi.ts). An entry that is no longer needed fails the test: delete it once the document is fixed.
KNOWN_GAPS = {
    "create_app answer version": "POST /loop-apps answers 201 with the first version too; the document: LoopApp",
    "regenerate body": 'POST /loop-apps/{id}/versions takes {"regenerate": true}; the document says ProgramUpload',
}

#: String keys read from JSON anywhere in the package, `x["key"]` or `x.get("key")`, except these (not JSON).
NOT_ANSWER_KEYS = {"LOOPAI_URL", "LOOPAI_API_KEY"}


def resolve(doc: Dict[str, Any], schema: Dict[str, Any]) -> Dict[str, Any]:
    """Follows `$ref`s into components.schemas and merges an `allOf` into one object schema."""
    for _ in range(20):
        ref = schema.get("$ref")
        if not isinstance(ref, str):
            break
        schema = doc["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    if "allOf" in schema:
        parts = [resolve(doc, p) for p in schema["allOf"]]
        merged: Dict[str, Any] = {}
        for p in parts:
            merged.update(p.get("properties", {}))
        return {"type": "object", "properties": merged,
                "required": sorted({r for p in parts for r in p.get("required", [])})}
    return schema


def has_field(doc: Dict[str, Any], schema: Dict[str, Any], dotted: str) -> bool:
    """Whether `dotted` (``a.b``, ``a[].b``) names a documented property, in any branch of an `anyOf`."""
    schema = resolve(doc, schema)
    if "anyOf" in schema or "oneOf" in schema:
        return any(has_field(doc, b, dotted) for b in schema.get("anyOf", schema.get("oneOf", [])))
    if not dotted:
        return True
    head, _, rest = dotted.partition(".")
    is_array = head.endswith("[]")
    prop = schema.get("properties", {}).get(head[:-2] if is_array else head)
    if prop is None:
        return False
    if is_array:
        items = resolve(doc, prop)
        if items.get("type") != "array":
            return False
        prop = items.get("items", {})
    return has_field(doc, prop, rest)


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    return {float: "number", str: "string", list: "array", dict: "object"}.get(type(value), type(value).__name__)


def validate(doc: Dict[str, Any], schema: Dict[str, Any], value: Any, at: str = "$") -> List[str]:
    """Why `value` does not match `schema`; documented properties are taken as the only ones allowed."""
    schema = resolve(doc, schema)
    branches = schema.get("anyOf", schema.get("oneOf"))
    if branches is not None:
        results = [validate(doc, b, value, at) for b in branches]
        return [] if any(not r for r in results) else [e for r in results for e in r]
    if "enum" in schema and value not in schema["enum"]:
        return [f"{at}: {value!r} is not one of {schema['enum']}"]
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        t = json_type(value)
        if t not in types and not (t == "integer" and "number" in types):
            return [f"{at}: a {t}, the document says {' or '.join(types)}"]
    errors: List[str] = []
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            errors.append(f"{at}: fewer than {schema['minItems']} items")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            errors.append(f"{at}: more than {schema['maxItems']} items")
        for i, item in enumerate(value):
            errors += validate(doc, schema.get("items", {}), item, f"{at}[{i}]")
    elif isinstance(value, dict):
        properties = schema.get("properties", {})
        additional = schema.get("additionalProperties")
        errors += [f"{at}.{name}: required by the document, not sent" for name in schema.get("required", [])
                   if name not in value]
        for name, v in value.items():
            if name in properties:
                errors += validate(doc, properties[name], v, f"{at}.{name}")
            elif isinstance(additional, dict):
                errors += validate(doc, additional, v, f"{at}.{name}")
            elif additional is False or "properties" in schema:
                errors.append(f"{at}.{name}: sent, but not a documented property")
    return errors


def find_operation(doc: Dict[str, Any], method: str, path: str) -> Tuple[Optional[str], Optional[Dict[str, Any]]]:
    """The document's path template and operation for a request (`{id}` matches one path segment)."""
    for template, operations in doc["paths"].items():
        pattern = "^" + re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path) and method.lower() in operations:
            return template, operations[method.lower()]
    return None, None


def json_schema(part: Optional[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
    return ((part or {}).get("content") or {}).get("application/json", {}).get("schema")


def key_read(node: ast.AST) -> Optional[str]:
    """The string key `node` reads from a dict, ``x["key"]`` or ``x.get("key")``; None for any other node."""
    if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
        if isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str):
            return node.slice.value
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get"
            and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
        return node.args[0].value
    return None


def field_names(fields: List[str]) -> Set[str]:
    """Every name in dotted fields: ``results[].error.code`` gives results, error and code."""
    return {part[:-2] if part.endswith("[]") else part for f in fields for part in f.split(".")}


class RawMedia:
    """A request body sent as it is (JSON Lines, CSV), by its media type."""

    def __init__(self, media: str) -> None:
        self.media = media


class ContractTest(ServerTestCase):
    doc: Dict[str, Any]

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        with urllib.request.urlopen(f"{cls.server.url}/openapi.json", timeout=10) as res:
            cls.doc = json.load(res)

    def recorded(self, call: Call) -> List[Tuple[str, str, Dict[str, List[str]], Any]]:
        """The requests `call` makes, as (method, path, query, body), each answered 200 without a server."""
        sent: List[Tuple[str, str, Dict[str, List[str]], Any]] = []
        answer = json.dumps({"job_id": "job_1", "state": "succeeded"}).encode()

        def send(_self: Transport, method: str, target: str, payload: Optional[bytes], headers: Any) -> Any:
            url = urlsplit(target)
            kind = headers.get("Content-Type")
            # a JSON body parsed; a body sent as it is, as its media type
            body = None if payload is None else json.loads(payload) if kind == "application/json" else RawMedia(kind)
            sent.append((method, url.path, parse_qs(url.query), body))
            return 200, None, answer

        with mock.patch.object(Transport, "_send", send):
            call(LoopaiClient("contract-app", base_url="http://contract.invalid", max_retries=0))
        return sent

    def test_every_method_has_a_call_here(self) -> None:
        public = {name for name, member in inspect.getmembers(LoopaiClient, inspect.isfunction)
                  if not name.startswith("_")}
        self.assertEqual(sorted(public - NO_REQUEST), sorted(METHODS), "a method without an entry in METHODS")

    def test_every_request_is_a_documented_operation_with_documented_parameters_and_body(self) -> None:
        failures: List[str] = []
        gaps_seen = set()
        for name, (call, _) in METHODS.items():
            sent = self.recorded(call)
            if len(sent) != 1:
                failures.append(f"{name}: made {len(sent)} requests, not 1")
            for method, path, query, body in sent:
                template, operation = find_operation(self.doc, method, path)
                if operation is None:
                    failures.append(f"{name}: {method} {path} is not in the document")
                    continue
                label = f"{name}: {method} {template}"
                documented = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
                failures += [f"{label}: query parameter {q} is not documented" for q in query if q not in documented]
                schema = json_schema(operation.get("requestBody"))
                if isinstance(body, RawMedia):
                    if body.media not in (operation.get("requestBody") or {}).get("content", {}):
                        failures.append(f"{label}: sends {body.media}, the document does not take it")
                elif body is not None and schema is None:
                    failures.append(f"{label}: sends a body, the document has none")
                elif body is None and schema is not None:
                    failures.append(f"{label}: the document requires a body, none sent")
                elif body is not None:
                    errors = validate(self.doc, schema, body)
                    if errors and f"{name} body" in KNOWN_GAPS:
                        gaps_seen.add(f"{name} body")
                    else:
                        failures += [f"{label}: body {e}" for e in errors]
        self.assertEqual(failures, [], "\n".join(failures))
        self.assertEqual(sorted(gaps_seen), sorted(k for k in KNOWN_GAPS if k.endswith(" body")),
                         "KNOWN_GAPS entries that are no longer needed")

    def test_the_fields_the_client_reads_are_documented_in_the_answers(self) -> None:
        failures: List[str] = []
        gaps_seen = set()
        for name, (call, fields) in METHODS.items():
            method, path, _, _ = self.recorded(call)[0]
            _, operation = find_operation(self.doc, method, path)
            assert operation is not None, f"{name}: {method} {path} (see the test of the operations)"
            answers = [json_schema(r) or {} for status, r in operation["responses"].items()
                       if re.match(r"^2\d\d$", status)]
            for field in fields:
                if not any(has_field(self.doc, a, field) for a in answers):
                    if f"{name} answer {field}" in KNOWN_GAPS:
                        gaps_seen.add(f"{name} answer {field}")
                    else:
                        failures.append(f"{name}: {method} {path} answers no documented field {field}")
            error = json_schema(operation["responses"].get("default")) or {}
            failures += [f"{name}: the error answer has no {f}" for f in ERROR_FIELDS
                         if not has_field(self.doc, error, f)]
        self.assertEqual(failures, [], "\n".join(failures))
        self.assertEqual(sorted(gaps_seen), sorted(k for k in KNOWN_GAPS if " answer " in k),
                         "KNOWN_GAPS entries that are no longer needed")

    def test_every_key_the_client_reads_is_declared_above(self) -> None:
        """So that each is checked: a method's reads are among its fields, other code's among ERROR_FIELDS."""
        undeclared: List[str] = []
        for file in sorted(PACKAGE.glob("*.py")):
            tree = ast.parse(file.read_text())
            owner: Dict[int, str] = {}
            for cls in tree.body:
                if isinstance(cls, ast.ClassDef) and cls.name == "LoopaiClient":
                    for method in cls.body:
                        if isinstance(method, ast.FunctionDef) and method.name in METHODS:
                            owner.update((id(n), method.name) for n in ast.walk(method))
            for node in ast.walk(tree):
                key = key_read(node)
                if key is None or key in NOT_ANSWER_KEYS:
                    continue
                name = owner.get(id(node))
                allowed = field_names(METHODS[name][1]) if name else field_names(ERROR_FIELDS)
                if key not in allowed:
                    where = f"{name}()" if name else "(not in a method)"
                    undeclared.append(f"{file.name}:{getattr(node, 'lineno', '?')} {where} reads {key!r}")
        self.assertEqual(undeclared, [], "keys read from answers that METHODS or ERROR_FIELDS do not declare")


if __name__ == "__main__":
    unittest.main()
