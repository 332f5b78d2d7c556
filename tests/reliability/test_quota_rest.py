"""The per-namespace quota as a REST user meets it: 429 with a JSON message, nothing made."""

from __future__ import annotations

from pathlib import Path

from tests.support.stack import running_stack


def test_create_past_the_quota_is_429_and_creates_nothing(tmp_path: Path) -> None:
    with running_stack(tmp_path / "up.log", args=["--max-functions=2"]) as stack:
        token = stack.token()
        for name in ("first", "second"):
            body = {"name": name, "image": "nginx:alpine"}
            assert stack.call("POST", "/v1/functions", body=body, token=token).status == 200

        refused = stack.call(
            "POST", "/v1/functions", body={"name": "third", "image": "nginx"}, token=token
        )

        assert refused.status == 429
        assert refused.json()["code"] == 8
        assert "delete one before creating another" in refused.json()["message"]
        listed = stack.call("GET", "/v1/functions", token=token).json()
        assert [f["name"] for f in listed] == ["first", "second"]
