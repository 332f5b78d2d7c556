"""Authentication over REST, through a real Envoy in front of a credentialed server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.auth.forgeries import REFUSED, mint
from tests.support.stack import Reply, Stack, running_stack
from tests.support.tokens import TENANT_KEYS, TENANT_SECRET, api_keys_setting

pytestmark = pytest.mark.envoy

UNAUTHENTICATED, PERMISSION_DENIED, NOT_FOUND = 16, 7, 5


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One credentialed `fnplane up` for this module: TENANT_KEYS reach their namespaces."""
    env = {
        "FNPLANE_API_KEYS": api_keys_setting(TENANT_KEYS),
        "FNPLANE_TOKEN_SECRET": TENANT_SECRET,
    }
    with running_stack(tmp_path_factory.mktemp("auth-rest") / "up.log", env=env) as started:
        yield started


def token_for(stack: Stack, namespace: str) -> str:
    reply = stack.call("POST", "/auth/token", body={"api_key": TENANT_KEYS[namespace]})
    assert reply.status == 200, reply.body
    token: str = reply.json()["token"]
    return token


def error(reply: Reply, status: int, code: int) -> str:
    """Asserts `reply` is a JSON error of this HTTP status and gRPC code; answers its message."""
    assert reply.status == status, reply.body
    body = reply.json()
    assert body["code"] == code, body
    message: str = body["message"]
    return message


def test_an_api_key_buys_a_token_with_its_expiry(stack: Stack) -> None:
    reply = stack.call("POST", "/auth/token", body={"api_key": TENANT_KEYS["team-a"]})

    assert reply.status == 200, reply.body
    body = reply.json()
    assert body["namespace"] == "team-a"
    assert body["expires_in"] == 3600
    assert body["expires_at"].endswith("Z")
    assert stack.call("GET", "/v1/functions", token=body["token"]).status == 200


@pytest.mark.parametrize(
    ("body", "says"),
    [({}, "api_key: required"), ({"api_key": "not-a-key"}, "not a key this server knows")],
    ids=["no key", "wrong key"],
)
def test_a_missing_or_wrong_key_is_401(stack: Stack, body: dict[str, str], says: str) -> None:
    reply = stack.call("POST", "/auth/token", body=body)

    assert says in error(reply, 401, UNAUTHENTICATED)


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_a_bad_authorization_is_401_saying_which(stack: Stack, case: str) -> None:
    make, reason = REFUSED[case]
    authorization = make()
    headers = {} if authorization is None else {"Authorization": authorization}

    message = error(stack.call("GET", "/v1/functions", headers=headers), 401, UNAUTHENTICATED)

    assert reason in message
    if authorization and " " in authorization:
        assert authorization.split(" ", 1)[1] not in message


def test_a_token_for_kube_system_is_403(stack: Stack) -> None:
    reply = stack.call("GET", "/v1/functions", token=mint(namespace="kube-system"))

    assert "'kube-system' is not among" in error(reply, 403, PERMISSION_DENIED)


def test_tenants_do_not_see_each_others_functions(stack: Stack) -> None:
    team_a, team_b = token_for(stack, "team-a"), token_for(stack, "team-b")
    created = stack.call(
        "POST", "/v1/functions", token=team_a, body={"name": "ledger", "image": "nginx"}
    )
    assert created.status == 200, created.body
    try:
        assert stack.call("GET", "/v1/functions", token=team_b).json() == []
        for method in ("GET", "DELETE"):
            reply = stack.call(method, "/v1/functions/ledger", token=team_b)
            error(reply, 404, NOT_FOUND)
        patched = stack.call("PATCH", "/v1/functions/ledger", token=team_b, body={"replicas": 2})
        error(patched, 404, NOT_FOUND)
        assert stack.call("GET", "/v1/functions/ledger", token=team_a).json()["replicas"] == 1
    finally:
        stack.call("DELETE", "/v1/functions/ledger", token=team_a)
