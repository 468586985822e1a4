"""herald over TLS with a bearer token, through Python stubs generated from proto/ (Debian grpc_tools).

Usage: auth_client.py <host:port> <stubs dir> <CA file> <token>

Verifies the server with the CA, then registers an instance with `authorization: Bearer <token>`
metadata, once more without metadata and once with a wrong token, and reads the service with the
token. Prints one JSON object.
"""
import json
import sys

import grpc
from google.protobuf import json_format


def main() -> None:
    target, stubs, ca_file, token = sys.argv[1:5]
    sys.path.insert(0, stubs)
    from herald.v1 import registry_service_pb2 as pb, registry_service_pb2_grpc as rpc  # noqa: E402

    with open(ca_file, "rb") as f:
        channel = grpc.secure_channel(target, grpc.ssl_channel_credentials(root_certificates=f.read()))
    stub = rpc.RegistryServiceStub(channel)
    request = pb.RegisterRequest(service="py-secure", instance=pb.InstanceRegistration(ip="10.9.9.9", port=9443))

    def refusal(metadata):
        try:
            stub.Register(request, metadata=metadata, timeout=10)
            return None
        except grpc.RpcError as e:
            return {"code": e.code().name, "details": e.details()}

    anonymous = refusal(())
    wrong = refusal((("authorization", "Bearer not-the-token"),))
    registered = stub.Register(request, metadata=(("authorization", "Bearer " + token),), timeout=10)
    read = stub.GetService(pb.GetServiceRequest(service="py-secure"), metadata=(("authorization", "Bearer " + token),), timeout=10)
    channel.close()

    as_dict = lambda m: json_format.MessageToDict(m, preserving_proto_field_name=True)  # noqa: E731
    print(json.dumps({"anonymous": anonymous, "wrong": wrong, "registered": as_dict(registered), "read": as_dict(read)}))


if __name__ == "__main__":
    main()
