"""Label and field selectors on lists, with every operator the API documents."""

from __future__ import annotations

import kubernetes.client
import pytest
from kubernetes.client import ApiException

from tests.fakekube.answers import name_of, status_of
from tests.fakekube.manifests import deployment

LABELS = {
    "plain": {},
    "gold": {"tier": "gold"},
    "silver": {"tier": "silver"},
    "bronze-canary": {"tier": "bronze", "canary": "yes"},
}


@pytest.fixture
def labelled(apps: kubernetes.client.AppsV1Api) -> kubernetes.client.AppsV1Api:
    for name, labels in LABELS.items():
        apps.create_namespaced_deployment("team-a", deployment(name, labels=labels))
    return apps


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("tier=gold", ["gold"]),
        ("tier==gold", ["gold"]),
        ("tier!=gold", ["bronze-canary", "plain", "silver"]),
        ("tier in (gold,silver)", ["gold", "silver"]),
        ("tier notin (gold, silver)", ["bronze-canary", "plain"]),
        ("tier", ["bronze-canary", "gold", "silver"]),
        ("!tier", ["plain"]),
        ("tier,!canary", ["gold", "silver"]),
        ("tier in (bronze),canary=yes", ["bronze-canary"]),
        ("app.kubernetes.io/name=gold", ["gold"]),
        ("", ["bronze-canary", "gold", "plain", "silver"]),
    ],
)
def test_label_selector(
    labelled: kubernetes.client.AppsV1Api, selector: str, expected: list[str]
) -> None:
    listed = labelled.list_namespaced_deployment("team-a", label_selector=selector)

    assert sorted(name_of(d) for d in listed.items) == expected


def test_field_selector_on_name(labelled: kubernetes.client.AppsV1Api) -> None:
    one = labelled.list_namespaced_deployment("team-a", field_selector="metadata.name=gold")
    others = labelled.list_namespaced_deployment("team-a", field_selector="metadata.name!=gold")

    assert [name_of(d) for d in one.items] == ["gold"]
    assert "gold" not in [name_of(d) for d in others.items]


def test_unknown_field_selector_is_a_bad_request(labelled: kubernetes.client.AppsV1Api) -> None:
    with pytest.raises(ApiException) as caught:
        labelled.list_namespaced_deployment("team-a", field_selector="spec.replicas=1")

    assert caught.value.status == 400
    assert status_of(caught.value)["reason"] == "BadRequest"


def test_malformed_label_selector_is_a_bad_request(labelled: kubernetes.client.AppsV1Api) -> None:
    with pytest.raises(ApiException) as caught:
        labelled.list_namespaced_deployment("team-a", label_selector="tier in gold")

    assert caught.value.status == 400
