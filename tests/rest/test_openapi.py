"""The OpenAPI description: generated from the descriptor set, and true to what Envoy answers."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest
import schemathesis
from schemathesis.core.result import Ok

from fnplane.envoy import routes
from fnplane.envoy.config import package_file
from tests.rest.conftest import Api
from tests.support.stack import Reply

pytestmark = pytest.mark.envoy


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(package_file("fnplane.v1", "openapi.json").read_text())
    return loaded


def test_the_committed_document_is_what_the_generator_makes(document: dict[str, Any]) -> None:
    made = subprocess.run(
        [sys.executable, "-m", "fnplane.envoy.openapi", str(routes.descriptor_path())],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(made.stdout) == document


def test_every_annotated_rpc_is_documented(document: dict[str, Any]) -> None:
    contract = routes.routes(routes.load(routes.descriptor_path()))
    documented = {
        (verb, path, operation["operationId"])
        for path, verbs in document["paths"].items()
        for verb, operation in verbs.items()
    }
    assert documented == {(r.verb, r.path, r.method) for r in contract}
    loaded = schemathesis.openapi.from_dict(document)
    operations = list(loaded.get_all_operations())
    assert len(operations) == len(contract)
    assert all(isinstance(operation, Ok) for operation in operations), operations


def test_the_list_is_documented_as_a_bare_array(document: dict[str, Any]) -> None:
    answer = document["paths"]["/v1/functions"]["get"]["responses"]["200"]
    schema = answer["content"]["application/json"]["schema"]
    assert schema == {"type": "array", "items": {"$ref": "#/components/schemas/Function"}}


def conforms(reply: Reply, document: dict[str, Any], path: str, verb: str) -> None:
    """Asserts the reply's body matches the schema the document gives for its status."""
    answers = document["paths"][path][verb]["responses"]
    answer = answers.get(str(reply.status), answers.get("default"))
    schema = answer["content"]["application/json"]["schema"]
    rooted = {**schema, "components": document["components"]}
    jsonschema.validate(reply.json(), rooted)


def test_real_answers_match_the_document(api: Api, document: dict[str, Any]) -> None:
    function = {"name": "doc", "image": "nginx", "replicas": 0, "env": {"A": "b"}}
    conforms(api("POST", "/v1/functions", body=function), document, "/v1/functions", "post")
    conforms(api("GET", "/v1/functions"), document, "/v1/functions", "get")
    named = "/v1/functions/{name}"
    conforms(api("GET", "/v1/functions/doc"), document, named, "get")
    conforms(api("PATCH", "/v1/functions/doc", body={"replicas": 1}), document, named, "patch")
    conforms(api("GET", "/v1/functions/ghost"), document, named, "get")
    conforms(api("POST", "/v1/functions", body={"name": "Bad"}), document, "/v1/functions", "post")
    conforms(api("DELETE", "/v1/functions/doc"), document, named, "delete")
    conforms(api("POST", "/auth/token", body={}, token=None), document, "/auth/token", "post")


def test_the_document_lists_every_field_envoy_always_prints(document: dict[str, Any]) -> None:
    function = document["components"]["schemas"]["Function"]
    assert {"name", "image", "replicas", "available_replicas", "status"} <= set(
        function["required"]
    )
    assert function["properties"]["created_at"]["format"] == "date-time"
    assert function["properties"]["replicas"]["type"] == "integer"
