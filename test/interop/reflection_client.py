"""A server-reflection client that is not grpc-js, doing what grpcurl does.

Usage: reflection_client.py <host:port> <reflection_pb2 dir> <v1|v1alpha>

Lists services, fetches the file of every service and, recursively, every file it depends on, and
adds each FileDescriptorProto to a fresh DescriptorPool, which validates descriptors as strictly as
protoc does (map entries, references, json names). It then builds herald.v1 requests from the
reflected descriptors alone and calls GetService and Register. Prints one JSON object.
"""
import importlib.util
import json
import os
import sys

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, json_format
from google.protobuf.internal import api_implementation

try:
    from google.protobuf.message_factory import GetMessageClass  # protobuf >= 4.22
except ImportError:  # Debian bookworm's 3.21 / 4.21
    from google.protobuf import message_factory

    _factory = message_factory.MessageFactory()

    def GetMessageClass(desc):  # noqa: N802 - mirrors the protobuf API name
        return _factory.GetPrototype(desc)


def main() -> None:
    target, pb2_dir, version = sys.argv[1], sys.argv[2], sys.argv[3]
    # Loaded by path: a generated "grpc.reflection" package would collide with grpcio's "grpc".
    path = os.path.join(pb2_dir, "grpc", "reflection", version, "reflection_pb2.py")
    spec = importlib.util.spec_from_file_location(f"herald_reflection_{version}_pb2", path)
    refl = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(refl)
    channel = grpc.insecure_channel(target)
    method = f"/grpc.reflection.{version}.ServerReflection/ServerReflectionInfo"
    stream = channel.stream_stream(
        method,
        request_serializer=refl.ServerReflectionRequest.SerializeToString,
        response_deserializer=refl.ServerReflectionResponse.FromString,
    )

    def ask(**kwargs):
        responses = list(stream(iter([refl.ServerReflectionRequest(host="", **kwargs)]), timeout=10))
        assert len(responses) == 1, responses
        r = responses[0]
        if r.HasField("error_response"):
            raise RuntimeError(f"reflection error for {kwargs}: {r.error_response.error_message}")
        return r

    services = [s.name for s in ask(list_services="").list_services_response.service]

    pool = descriptor_pool.DescriptorPool()
    added = {}  # file name -> FileDescriptorProto, as received
    loaded = set()  # file names added to the pool

    def receive(serialized_list):
        for raw in serialized_list:
            fdp = descriptor_pb2.FileDescriptorProto.FromString(raw)
            added.setdefault(fdp.name, fdp)

    def load(name):
        """Adds a file to the pool after its dependencies, fetching missing ones by name."""
        if name in loaded:
            return
        if name not in added:
            receive(ask(file_by_filename=name).file_descriptor_response.file_descriptor_proto)
        fdp = added[name]
        for dep in fdp.dependency:
            load(dep)
        pool.Add(fdp)
        loaded.add(name)

    def add_files(serialized_list):
        names = [descriptor_pb2.FileDescriptorProto.FromString(raw).name for raw in serialized_list]
        receive(serialized_list)
        for name in names:
            load(name)

    described = {}
    for name in services:
        add_files(ask(file_containing_symbol=name).file_descriptor_response.file_descriptor_proto)
        svc = pool.FindServiceByName(name)
        # Force every message reachable from every method to be built and validated.
        for m in svc.methods:
            for msg in (m.input_type, m.output_type):
                GetMessageClass(msg)
        described[name] = [m.name for m in svc.methods]

    for fname in list(added):
        pool.FindFileByName(fname)

    # Call herald through the reflected descriptors only.
    svc = pool.FindServiceByName("herald.v1.RegistryService")

    def call(method_name, body):
        m = svc.methods_by_name[method_name]
        req_cls, res_cls = GetMessageClass(m.input_type), GetMessageClass(m.output_type)
        req = json_format.ParseDict(body, req_cls())
        fn = channel.unary_unary(
            f"/{svc.full_name}/{m.name}", request_serializer=req_cls.SerializeToString, response_deserializer=res_cls.FromString
        )
        return json_format.MessageToDict(fn(req, timeout=10))

    registered = call(
        "Register",
        {"service": "reflected", "instance": {"ip": "10.9.9.9", "port": 9090, "metadata": {"via": "reflection"}, "weight": 2.5}},
    )
    fetched = call("GetService", {"service": "reflected"})
    print(
        json.dumps(
            {
                "protobuf_backend": api_implementation.Type(),
                "services": services,
                "methods": described,
                "files": sorted(added),
                "registered": registered,
                "fetched": fetched,
            }
        )
    )


if __name__ == "__main__":
    main()
