"""A load-balancing agent on Debian's python3-grpcio (C-core's xDS resolver; GRPC_XDS_BOOTSTRAP names
the bootstrap file): for each JSON line {"target": "xds:///orders", "path": "/pkg.Svc/Method",
"calls": N} on stdin, it makes N calls of a byte-echo method over one channel per target (at most
20 in flight) and prints {"replies": [...]} on one line: each reply's text, or "error CODE: details".

usage: xds_client.py   (driven by test/interop/xds-python.test.ts)
"""
import json
import sys

import grpc

channels = {}


def calls(target, path, n):
    if target not in channels:
        channels[target] = grpc.insecure_channel(target)
    method = channels[target].unary_unary(path)
    replies = []
    for start in range(0, n, 20):
        futures = [method.future(b"", timeout=10) for _ in range(min(20, n - start))]
        for f in futures:
            try:
                replies.append(f.result().decode())
            except grpc.RpcError as e:
                replies.append(f"error {e.code().name}: {e.details()}")
    return replies


for line in sys.stdin:
    req = json.loads(line)
    print(json.dumps({"replies": calls(req["target"], req["path"], req["calls"])}), flush=True)
for channel in channels.values():
    channel.close()
