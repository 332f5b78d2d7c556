"""Functions kept encoded: the bytes Get and List answer are exactly the messages protobuf
would build, and a change to a function is never answered from stale bytes."""

from __future__ import annotations

from fnplane.server.convert import function_to_pb
from fnplane.server.demo import DemoBackend
from fnplane.server.domain import FunctionSpec, FunctionUpdate
from fnplane.server.encoded import EncodedFunctions
from fnplane.v1 import functions_pb2 as pb


def _backend(count: int) -> DemoBackend:
    backend = DemoBackend()
    for index in range(count):
        backend.create(
            "team",
            FunctionSpec(
                name=f"fn-{index}",
                image=f"registry.example.com/app:{index}",
                replicas=index % 3,
                env={"INDEX": str(index)} if index % 2 else {},
                labels={"tier": "web"},
            ),
        )
    return backend


def test_a_listing_is_the_response_protobuf_would_encode() -> None:
    backend = _backend(50)
    functions = backend.list("team")

    listing = EncodedFunctions().listing("team", functions)

    expected = pb.ListFunctionsResponse(functions=[function_to_pb(f) for f in functions])
    assert pb.ListFunctionsResponse.FromString(listing) == expected
    assert EncodedFunctions().listing("team", []) == pb.ListFunctionsResponse().SerializeToString()


def test_a_function_is_the_message_protobuf_would_encode() -> None:
    backend = _backend(3)
    encoded = EncodedFunctions()
    encoded.listing("team", backend.list("team"))

    for function in backend.list("team"):
        assert pb.Function.FromString(encoded.function(function)) == function_to_pb(function)


def test_a_changed_function_is_encoded_again() -> None:
    backend = _backend(2)
    encoded = EncodedFunctions()
    encoded.function(backend.get("team", "fn-1"))
    encoded.listing("team", backend.list("team"))

    backend.update("team", FunctionUpdate(name="fn-1", image="nginx:2", env={"NEW": "1"}))

    answered = pb.Function.FromString(encoded.function(backend.get("team", "fn-1")))
    assert answered.image == "nginx:2" and dict(answered.env) == {"NEW": "1"}
    listed = pb.ListFunctionsResponse.FromString(encoded.listing("team", backend.list("team")))
    assert [f.image for f in listed.functions] == ["registry.example.com/app:0", "nginx:2"]


def test_a_listing_follows_creates_and_deletes() -> None:
    backend = _backend(3)
    encoded = EncodedFunctions()

    def names() -> list[str]:
        listing = encoded.listing("team", backend.list("team"))
        return [f.name for f in pb.ListFunctionsResponse.FromString(listing).functions]

    assert names() == ["fn-0", "fn-1", "fn-2"]
    backend.delete("team", "fn-1")
    assert names() == ["fn-0", "fn-2"]
    backend.create("team", FunctionSpec(name="fn-1", image="nginx"))
    assert names() == ["fn-0", "fn-1", "fn-2"]
    assert names() == ["fn-0", "fn-1", "fn-2"]


def test_namespaces_with_the_same_names_are_kept_apart() -> None:
    backend = DemoBackend()
    for namespace in ("blue", "green"):
        backend.create("team-" + namespace, FunctionSpec(name="app", image=f"{namespace}:1"))
    encoded = EncodedFunctions()

    images = [
        pb.Function.FromString(encoded.function(backend.get(namespace, "app"))).image
        for namespace in ("team-blue", "team-green", "team-blue")
    ]

    assert images == ["blue:1", "green:1", "blue:1"]
    listed = [
        pb.ListFunctionsResponse.FromString(encoded.listing(namespace, backend.list(namespace)))
        .functions[0]
        .image
        for namespace in ("team-blue", "team-green", "team-blue")
    ]
    assert listed == ["blue:1", "green:1", "blue:1"]


def test_past_its_limit_it_still_answers_every_function_rightly() -> None:
    backend = _backend(30)
    functions = backend.list("team")
    encoded = EncodedFunctions(limit=10)

    for _ in range(2):
        listing = encoded.listing("team", functions)
        assert pb.ListFunctionsResponse.FromString(listing) == pb.ListFunctionsResponse(
            functions=[function_to_pb(f) for f in functions]
        )
