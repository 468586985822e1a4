"""Follows herald services with deltas through Python stubs generated from proto/ (Debian's
grpc_tools), applying the rule of docs/protocol.md ("Following a service with deltas") and checking
every state against the server's checksum, computed here as the document says.

Usage: delta_client.py <host:port> <stubs dir>

Prints one JSON object: what each step saw.
"""
import hashlib
import json
import math
import queue
import sys

import grpc


def status_name(model_pb2, value):
    """'UP' for INSTANCE_STATUS_UP; '' for UNSPECIFIED (no override)."""
    if value == 0:
        return ""
    return model_pb2.InstanceStatus.Name(value)[len("INSTANCE_STATUS_"):]


def checksum(model_pb2, hosts):
    """docs/protocol.md: MD5 over one line per host, in instance-id order."""
    md5 = hashlib.md5()
    for h in hosts:
        meta = json.dumps(sorted([k, v] for k, v in h.metadata.items()), separators=(",", ":"), ensure_ascii=False)
        line = "\t".join(
            [
                h.instance_id,
                h.ip,
                str(h.port),
                str(math.floor(h.weight * 1000 + 0.5)),
                "1" if h.healthy else "0",
                "1" if h.enabled else "0",
                "1" if h.ephemeral else "0",
                h.cluster,
                status_name(model_pb2, h.status),
                status_name(model_pb2, h.overridden_status),
                meta,
            ]
        )
        md5.update((line + "\n").encode("utf-8"))
    return md5.hexdigest()


class Followed:
    """One service as a client holds it: hosts by id, revision, checksum."""

    def __init__(self, model_pb2):
        self.model_pb2 = model_pb2
        self.hosts = None
        self.revision = 0
        self.checksum = ""

    def snapshot(self, info):
        self.hosts = {h.instance_id: h for h in info.hosts}
        self.revision = info.revision
        self.checksum = info.checksum
        assert checksum(self.model_pb2, self.sorted()) == info.checksum, "snapshot checksum"

    def delta(self, d):
        if self.hosts is None or d.from_revision != self.revision:
            raise RuntimeError("gap: subscribe again without resuming")
        for instance_id in d.removed:
            self.hosts.pop(instance_id, None)
        for h in d.upserted:
            self.hosts[h.instance_id] = h
        if checksum(self.model_pb2, self.sorted()) != d.checksum:
            raise RuntimeError("checksum mismatch: subscribe again without resuming")
        self.revision = d.revision
        self.checksum = d.checksum

    def accept(self, message):
        if message.HasField("service_info"):
            self.snapshot(message.service_info)
            return "snapshot"
        self.delta(message.delta)
        return "delta +%d -%d" % (len(message.delta.upserted), len(message.delta.removed))

    def sorted(self):
        # Instance ids sorted as UTF-16 code units (the same as code points for the BMP).
        return [self.hosts[k] for k in sorted(self.hosts, key=lambda s: s.encode("utf-16-be"))]

    def ids(self):
        return [h.instance_id for h in self.sorted()]


def main() -> None:
    target, stubs = sys.argv[1], sys.argv[2]
    sys.path.insert(0, stubs)
    from herald.v1 import model_pb2, registry_service_pb2 as pb, registry_service_pb2_grpc as rpc  # noqa: E402

    stub = rpc.RegistryServiceStub(grpc.insecure_channel(target))

    def register(instance_id, port, **meta):
        stub.Register(
            pb.RegisterRequest(service="py-deltas", instance=pb.InstanceRegistration(instance_id=instance_id, ip="10.0.0.1", port=port, metadata=meta)),
            timeout=10,
        )

    out = {}
    register("a", 1, zone="eu", note="caf\u00e9 \"quoted\"")
    register("b", 2)
    register("c", 3)

    # Subscribe with deltas: a snapshot, then only changes.
    followed = Followed(model_pb2)
    stream = stub.Subscribe(pb.SubscribeRequest(service="py-deltas", deltas=True), timeout=30)
    kinds = [followed.accept(next(stream))]
    register("d", 4)
    kinds.append(followed.accept(next(stream)))
    stub.Cancel(pb.CancelRequest(service="py-deltas", instance_id="b"), timeout=10)
    kinds.append(followed.accept(next(stream)))
    register("a", 1, zone="us")
    kinds.append(followed.accept(next(stream)))
    stream.cancel()
    pulled = stub.GetService(pb.GetServiceRequest(service="py-deltas"), timeout=10).service_info
    out["subscribe"] = {"kinds": kinds, "ids": followed.ids(), "matches_pull": followed.checksum == pulled.checksum and followed.revision == pulled.revision}

    # Resume: a change while away arrives as a delta from the state held.
    register("e", 5)
    stream = stub.Subscribe(
        pb.SubscribeRequest(service="py-deltas", deltas=True, resume_revision=followed.revision, resume_checksum=followed.checksum), timeout=30
    )
    resumed = followed.accept(next(stream))
    stream.cancel()
    out["resume"] = {"kind": resumed, "ids": followed.ids()}

    # Watch: two services on one stream, then remove one.
    requests = queue.Queue()

    def request_iter():
        while True:
            r = requests.get()
            if r is None:
                return
            yield r

    watch = stub.Watch(request_iter(), timeout=30)
    requests.put(pb.WatchRequest(add=pb.WatchAdd(watch_id=1, service="py-deltas")))
    requests.put(pb.WatchRequest(add=pb.WatchAdd(watch_id=2, service="py-other")))
    watched = {1: Followed(model_pb2), 2: Followed(model_pb2)}
    seen = []
    for _ in range(2):
        r = next(watch)
        seen.append([r.watch_id, watched[r.watch_id].accept(r)])
    stub.Register(pb.RegisterRequest(service="py-other", instance=pb.InstanceRegistration(ip="10.0.0.9", port=9)), timeout=10)
    r = next(watch)
    seen.append([r.watch_id, watched[r.watch_id].accept(r)])
    requests.put(pb.WatchRequest(remove=pb.WatchRemove(watch_id=1)))
    r = next(watch)
    seen.append([r.watch_id, "canceled" if r.canceled else "?"])
    requests.put(None)
    watch.cancel()
    out["watch"] = {"seen": seen, "other_ids": watched[2].ids()}

    # KeepAlive: renewals on one stream; NOT_FOUND is an answer.
    answers = stub.KeepAlive(
        iter([pb.KeepAliveRequest(tag=1, service="py-deltas", instance_id="a"), pb.KeepAliveRequest(tag=2, service="py-deltas", instance_id="nobody")]),
        timeout=10,
    )
    out["keep_alive"] = [{"tag": a.tag, "code": a.code, "renewal_interval_ms": a.renewal_interval_ms} for a in answers]

    print(json.dumps(out))


if __name__ == "__main__":
    main()
