from fnplane.v1 import functions_pb2 as pb


def test_create_then_list(functions) -> None:
    reply = functions.CreateFunction(pb.CreateFunctionRequest(name="my-app", image="nginx:alpine"))
    assert reply.message == "function created successfully"
    listed = functions.ListFunctions(pb.ListFunctionsRequest())
    assert [f.name for f in listed.functions] == ["my-app"]
    assert listed.functions[0].replicas == 1
