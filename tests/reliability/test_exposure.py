"""What a credentialed `fnplane up` shows beyond its API: its admin port, its logs, its errors.

One stack for the module, with API keys and the token secret in the environment, every log at
debug level and the public ports on every address. Envoy's admin interface must answer on
127.0.0.1 only; no line the stack prints (server and Envoy alike) may hold a key, the secret
or a token; and over REST, another tenant's function is answered exactly as one that exists
nowhere.
"""

from __future__ import annotations

import contextlib
import fcntl
import socket
import struct
from collections.abc import Iterator

import pytest

from tests.auth.forgeries import REFUSED, mint
from tests.support.stack import Reply, Stack, running_stack
from tests.support.tokens import TENANT_KEYS, TENANT_SECRET, api_keys_setting
from tests.support.waiting import port_answers

pytestmark = pytest.mark.envoy

WRONG_KEY = "a-key-nobody-was-given-0123456789"
SIOCGIFADDR = 0x8915
"""The Linux ioctl that answers an interface's IPv4 address."""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    env = {
        "FNPLANE_API_KEYS": api_keys_setting(TENANT_KEYS),
        "FNPLANE_TOKEN_SECRET": TENANT_SECRET,
        "FNPLANE_LOG_LEVEL": "debug",
    }
    log = tmp_path_factory.mktemp("exposure") / "up.log"
    with running_stack(log, args=["--http-host=0.0.0.0"], env=env) as started:
        yield started


def _token(stack: Stack, namespace: str) -> str:
    reply = stack.call("POST", "/auth/token", body={"api_key": TENANT_KEYS[namespace]})
    assert reply.status == 200, reply.body
    token: str = reply.json()["token"]
    return token


def _other_local_addresses() -> list[str]:
    """This machine's IPv4 addresses other than 127.0.0.1: another loopback address, which
    every Linux machine answers on, and the addresses of its network interfaces."""
    found = ["127.0.0.2"]
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_DGRAM)) as probe:
        for _, name in socket.if_nameindex():
            request = struct.pack("256s", name.encode()[:15])
            try:
                answer = fcntl.ioctl(probe.fileno(), SIOCGIFADDR, request)
            except OSError:
                continue  # an interface without an IPv4 address
            address = socket.inet_ntoa(answer[20:24])
            if address not in found and address != "127.0.0.1":
                found.append(address)
    return found


def test_envoy_admin_answers_on_127_0_0_1_only(stack: Stack) -> None:
    others = _other_local_addresses()
    if not port_answers(stack.http_port, host=others[0]):
        pytest.skip(f"this machine does not answer on {others[0]}, so there is nothing to try")

    assert port_answers(stack.admin_port, host="127.0.0.1")
    for address in others:
        # The public port answers there, so the address is reachable: only admin is shut.
        assert port_answers(stack.http_port, host=address), address
        assert not port_answers(stack.admin_port, host=address), f"admin answers on {address}"


def test_another_tenants_function_is_answered_over_rest_as_one_that_exists_nowhere(
    stack: Stack,
) -> None:
    team_a, team_b = _token(stack, "team-a"), _token(stack, "team-b")
    theirs, nowhere = "books-theirs", "books-nobody"
    made = stack.call(
        "POST", "/v1/functions", token=team_b, body={"name": theirs, "image": "nginx:alpine"}
    )
    assert made.status == 200, made.body

    def answer(method: str, name: str, body: object = None) -> tuple[int, bytes]:
        reply = stack.call(method, f"/v1/functions/{name}", token=team_a, body=body)
        return reply.status, reply.body.replace(theirs.encode(), nowhere.encode())

    try:
        for method, body in (
            ("GET", None),
            ("PATCH", {"replicas": 2}),
            ("PATCH", {"image": "not an image"}),
            ("DELETE", None),
        ):
            assert answer(method, theirs, body) == answer(method, nowhere, body), method
            assert answer(method, theirs, body)[0] != 200
        logs = stack.call("GET", f"/v1/functions/{theirs}/logs", token=team_a)
        assert (
            logs.status == stack.call("GET", f"/v1/functions/{nowhere}/logs", token=team_a).status
        )
    finally:
        stack.call("DELETE", f"/v1/functions/{theirs}", token=team_b)


def test_no_line_the_stack_prints_holds_a_key_the_secret_or_a_token(stack: Stack) -> None:
    tokens = [_token(stack, namespace) for namespace in TENANT_KEYS]
    replies: list[Reply] = []
    for token in tokens:
        body = {"name": "vault", "image": "nginx:alpine", "env": {"MODE": "test"}}
        replies.append(stack.call("POST", "/v1/functions", token=token, body=body))
        replies.append(stack.call("GET", "/v1/functions", token=token))
        replies.append(
            stack.call("PATCH", "/v1/functions/vault", token=token, body={"replicas": 2})
        )
        replies.append(stack.call("DELETE", "/v1/functions/vault", token=token))
    assert [r.status for r in replies] == [200] * len(replies)

    refused = []
    for key in (WRONG_KEY, TENANT_SECRET, ""):
        refused.append(stack.call("POST", "/auth/token", body={"api_key": key}))
    forged = [make() for make, _ in REFUSED.values()]
    forged += [f"Bearer {key}" for key in TENANT_KEYS.values()]
    forged += [f"Bearer {mint(namespace='kube-system')}"]
    for header in forged:
        headers = {} if header is None else {"Authorization": header}
        refused.append(stack.call("GET", "/v1/functions", headers=headers))
    assert all(400 <= r.status < 500 for r in refused), [(r.status, r.body) for r in refused]

    output = stack.child.output()
    assert "/fnplane.v1.FunctionService/CreateFunction OK" in output, "calls were logged"
    sensitive = [TENANT_SECRET, WRONG_KEY, *TENANT_KEYS.values(), *tokens]
    sensitive += [header.removeprefix("Bearer ") for header in forged if header]
    # A token's claims and signature count too, each on its own; its header is the same
    # for every token of the algorithm and says nothing.
    pieces = {
        piece
        for value in sensitive
        for piece in value.split(".")[1:] or [value]
        if len(piece) >= 16
    }
    leaked = [piece for piece in pieces if piece in output]
    assert leaked == [], f"printed by the stack: {leaked}"
    for reply in refused:
        assert not any(piece in reply.body.decode(errors="replace") for piece in pieces)
