"""Dials xds:///<service> with Debian's python3-grpcio (C-core's xDS resolver; GRPC_XDS_BOOTSTRAP
names the bootstrap file) and calls a byte-echo method; prints the replies as JSON on the last line.

usage: xds_client.py <service> <method path> <calls>
"""
import json
import sys

import grpc

service, path, calls = sys.argv[1], sys.argv[2], int(sys.argv[3])
with grpc.insecure_channel(f"xds:///{service}") as channel:
    call = channel.unary_unary(path)
    replies = []
    for _ in range(calls):
        try:
            replies.append(call(b"", timeout=10).decode())
        except grpc.RpcError as e:
            replies.append(f"error {e.code().name}: {e.details()}")
print(json.dumps({"replies": replies}))
