"""herald through Python stubs generated from proto/ by Debian's grpc_tools (protoc 3.5).

Usage: stub_client.py <host:port> <stubs dir>

Subscribes to a service, registers an instance, reads the push, renews, sends a bad registration,
cancels and reads the removal push. Prints one JSON object.
"""
import json
import sys

import grpc
from google.protobuf import json_format, wrappers_pb2


def main() -> None:
    target, stubs = sys.argv[1], sys.argv[2]
    sys.path.insert(0, stubs)
    from herald.v1 import model_pb2, registry_service_pb2 as pb, registry_service_pb2_grpc as rpc  # noqa: E402

    channel = grpc.insecure_channel(target)
    stub = rpc.RegistryServiceStub(channel)
    stream = stub.Subscribe(pb.SubscribeRequest(service="py-orders"), timeout=30)
    initial = next(stream)

    registered = stub.Register(
        pb.RegisterRequest(
            service="py-orders",
            instance=pb.InstanceRegistration(
                ip="10.1.2.3",
                port=8443,
                weight=wrappers_pb2.DoubleValue(value=0.0),
                healthy=wrappers_pb2.BoolValue(value=True),
                cluster="east",
                metadata={"lang": "python"},
                status=model_pb2.INSTANCE_STATUS_UP,
            ),
        ),
        timeout=10,
    )
    pushed = next(stream)
    renewed = stub.Renew(pb.RenewRequest(service="py-orders", instance_id=registered.instance.instance_id), timeout=10)

    try:
        stub.Register(pb.RegisterRequest(service="py-orders", instance=pb.InstanceRegistration(port=1)), timeout=10)
        bad = None
    except grpc.RpcError as e:
        bad = {"code": e.code().name, "details": e.details()}

    stub.Cancel(pb.CancelRequest(service="py-orders", instance_id=registered.instance.instance_id), timeout=10)
    removed = next(stream)
    stream.cancel()

    as_dict = lambda m: json_format.MessageToDict(m, preserving_proto_field_name=True)  # noqa: E731
    print(
        json.dumps(
            {
                "initial": as_dict(initial),
                "registered": as_dict(registered),
                "pushed": as_dict(pushed),
                "renewed": as_dict(renewed),
                "bad": bad,
                "removed": as_dict(removed),
            }
        )
    )


if __name__ == "__main__":
    main()
