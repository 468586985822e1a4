import { createServer } from 'node:net';
import { Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { RegisterRequest, SubscribeRequest } from '../../src/gen/herald/v1/registry_service.js';
import type { PeerLink } from '../../src/cluster/peer-link.js';
import { GrpcPeerLink } from '../../src/server/peer/grpc-peer-link.js';
import type { ServerConfig } from '../../src/server/config.js';
import type { HeraldServer } from '../../src/server/herald-server.js';
import { connect, record, startServer, untilRegistry } from '../support/server.js';

/** Free ports for nodes that must know each other's addresses before they start. */
async function freePorts(n: number): Promise<number[]> {
  const ports: number[] = [];
  for (let i = 0; i < n; i++) {
    ports.push(
      await new Promise<number>((resolve) => {
        const s = createServer();
        s.listen(0, '127.0.0.1', () => {
          const address = s.address();
          const port = typeof address === 'object' && address !== null ? address.port : 0;
          s.close(() => {
            resolve(port);
          });
        });
      }),
    );
  }
  return ports;
}

const reg = (service: string, id: string, lease?: { durationMs: number; renewalIntervalMs: number }) =>
  RegisterRequest.fromPartial({ service, instance: { instanceId: id, ip: '10.0.0.1', port: 80, ...(lease === undefined ? {} : { lease }) } });

const clusterConfig = (ports: number[], extra: Partial<ServerConfig> = {}): Partial<ServerConfig> => ({
  peers: ports.map((p) => `127.0.0.1:${p}`),
  mergeWindowMs: 2,
  replicationBatchDelayMs: 2,
  replicationRetryMaxMs: 200,
  syncTimeoutMs: 2_000,
  verifyIntervalMs: 60_000,
  peerCallTimeoutMs: 1_000,
  ...extra,
});

async function threeNodes(
  extra: Partial<ServerConfig> = {},
  linkFactory?: (address: string, secret: string | undefined, t: number) => PeerLink,
  clock?: ManualClock,
): Promise<{ nodes: HeraldServer[]; ports: number[] }> {
  const ports = await freePorts(3);
  const nodes: HeraldServer[] = [];
  for (const port of ports) {
    nodes.push(
      await startServer({ port, ...clusterConfig(ports, extra) }, { ...(linkFactory === undefined ? {} : { peerLinkFactory: linkFactory }), ...(clock === undefined ? {} : { clock }) }),
    );
  }
  return { nodes, ports };
}

const instances = (n: HeraldServer, service = 'orders'): string[] => n.registry.query({ service }).hosts.map((h) => h.instanceId);

describe('cluster mode', () => {
  it('replicates register, renew and cancel to every node, and pushes to subscribers on any node', async () => {
    // The nodes share a clock the test drives; timers and sockets are real.
    const clock = new ManualClock(Date.now());
    const { nodes } = await threeNodes({ evictionIntervalMs: 100, registry: { selfPreservation: false } }, undefined, clock);
    const [a, b, c] = nodes as [HeraldServer, HeraldServer, HeraldServer];
    const onC = record(connect(c).subscribe(SubscribeRequest.fromPartial({ service: 'orders' })));
    await connect(a).register(reg('orders', 'i-1', { durationMs: 1_500, renewalIntervalMs: 300 }));
    await onC.until((v) => v.hosts[0]?.instanceId === 'i-1', 'subscriber on C receives the push');
    await untilRegistry(nodes, () => nodes.every((n) => instances(n).length === 1), 'the registration replicated to B and C');
    // Renew on B only, for twice the lease: every node keeps it.
    const viaB = connect(b);
    const renewedEverywhere = (): boolean => nodes.every((n) => n.registry.getInstance({ service: 'orders', instanceId: 'i-1' }).lastRenewalMs === clock.nowMs());
    for (let i = 0; i < 10; i++) {
      clock.advance(300);
      await viaB.renew({ namespace: '', group: '', service: 'orders', instanceId: 'i-1', lastDirtyTimestamp: 0 });
      await untilRegistry(nodes, renewedEverywhere, `renewal ${i + 1} replicated to A and C`);
      for (const n of nodes) expect(n.evictNow()).toBe(0);
    }
    for (const n of nodes) expect(instances(n)).toEqual(['i-1']);
    // Without renewals the lease runs out on every node.
    clock.advance(1_501);
    for (const n of nodes) expect(n.evictNow()).toBe(1);
    await connect(a).register(reg('orders', 'i-1'));
    await untilRegistry(nodes, () => nodes.every((n) => instances(n).length === 1), 'registered again everywhere');
    await connect(c).cancel({ namespace: '', group: '', service: 'orders', instanceId: 'i-1' });
    await untilRegistry(nodes, () => nodes.every((n) => instances(n).length === 0), 'cancel on C removes it everywhere');
    await onC.until((v) => v.hosts.length === 0, 'subscriber sees the removal');
  });

  it('sends exactly peers − 1 replication messages per change (no loops)', async () => {
    // Each node's links count the tasks it delivers, and say when a batch's call is over.
    const delivered = [0, 0, 0];
    let inFlight = 0;
    const settled = new Subject<void>();
    const counting =
      (node: number) =>
      (address: string, secret: string | undefined, t: number): PeerLink => {
        const link = new GrpcPeerLink(address, secret, t);
        return {
          address,
          replicate: async (nodeId, tasks) => {
            inFlight++;
            try {
              const answer = await link.replicate(nodeId, tasks);
              delivered[node] = (delivered[node] ?? 0) + tasks.length;
              return answer;
            } finally {
              inFlight--;
              settled.next();
            }
          },
          syncRegistry: (id, deadline) => link.syncRegistry(id, deadline),
          listDigests: (id) => link.listDigests(id),
          fetchServices: (id, services) => link.fetchServices(id, services),
          close: () => {
            link.close();
          },
        };
      };
    const ports = await freePorts(3);
    const nodes: HeraldServer[] = [];
    for (const [i, port] of ports.entries()) nodes.push(await startServer({ port, ...clusterConfig(ports) }, { peerLinkFactory: counting(i) }));
    const [a, b, c] = nodes as [HeraldServer, HeraldServer, HeraldServer];
    const calls = record(settled);
    const everywhere = (id: string) => () => nodes.every((n) => instances(n).includes(id));
    await connect(a).register(reg('orders', 'i-1'));
    await untilRegistry(nodes, everywhere('i-1'), 'replicated');
    // A client write on B, C and then A: dispatchers are FIFO, so a (wrong) echo of an earlier
    // change would be delivered before each node's sentinel is.
    await connect(b).register(reg('orders', 'sentinel-b'));
    await untilRegistry(nodes, everywhere('sentinel-b'), 'sentinel from B delivered');
    await connect(c).register(reg('orders', 'sentinel-c'));
    await untilRegistry(nodes, everywhere('sentinel-c'), 'sentinel from C delivered');
    await connect(a).register(reg('orders', 'sentinel-a'));
    await untilRegistry(nodes, everywhere('sentinel-a'), 'sentinel from A delivered');
    // The peers have applied every batch; their answers are on the way back.
    await calls.until(() => inFlight === 0, 'every replication call answered', () => `tasks delivered by A, B, C: ${delivered.join(', ')}; calls in flight: ${inFlight}`);
    expect(delivered).toEqual([4, 2, 2]);
    for (const n of nodes) expect(instances(n)).toHaveLength(4);
  });

  it('keeps working while a node is down, never waiting for it; the node syncs on restart and converges', async () => {
    const { nodes, ports } = await threeNodes({ syncTimeoutMs: 3_000 });
    const [a, b, c] = nodes as [HeraldServer, HeraldServer, HeraldServer];
    await connect(a).register(reg('orders', 'before'));
    await untilRegistry(nodes, () => nodes.every((n) => instances(n).length === 1), 'replicated to all');
    await b.close();
    const ca = connect(a);
    for (let i = 0; i < 20; i++) await ca.register(reg('orders', `during-${i}`));
    await untilRegistry(c, () => instances(c).length === 21, 'C still receives replication');
    const toB = a.clusterNode?.status().find((p) => p.address === `127.0.0.1:${String(ports[1])}`);
    expect(toB?.state).toBe('down');
    expect(toB?.queueDepth ?? 0).toBeGreaterThan(0);
    // B comes back on the same port: it syncs from a peer before serving, and has everything.
    const b2 = await startServer({ port: ports[1], ...clusterConfig(ports, { syncTimeoutMs: 3_000 }) });
    expect(instances(b2).length).toBe(21);
    expect(b2.clusterNode?.synced).toBe(true);
    await c.close();
    // And replication to it resumes.
    await ca.register(reg('orders', 'after'));
    await untilRegistry(b2, () => instances(b2).includes('after'), 'replication to the restarted B resumed');
  });

  it('anti-entropy repairs replication that was lost, in one verify pass', async () => {
    const dropToC = { on: false, port: 0 };
    // Each task lost on its way to C, as `kind instanceId`, announced as it is lost.
    const lost = new Subject<string>();
    const losses = record(lost);
    const faulty = (address: string, secret: string | undefined, t: number): PeerLink => {
      const link = new GrpcPeerLink(address, secret, t);
      return {
        address,
        replicate: async (nodeId, tasks) => {
          // A lost replication: the sender believes it was delivered.
          if (dropToC.on && address.endsWith(`:${dropToC.port}`)) {
            for (const task of tasks) lost.next(`${task.kind} ${task.ref.instanceId}`);
            return { nodeId: '', answers: tasks.map(() => ({ kind: 'ok' as const })) };
          }
          return link.replicate(nodeId, tasks);
        },
        syncRegistry: (id, deadline) => link.syncRegistry(id, deadline),
        listDigests: (id) => link.listDigests(id),
        fetchServices: (id, services) => link.fetchServices(id, services),
        close: () => {
          link.close();
        },
      };
    };
    const { nodes, ports } = await threeNodes({}, faulty);
    const [a, , c] = nodes as [HeraldServer, HeraldServer, HeraldServer];
    dropToC.port = ports[2] ?? 0;
    dropToC.on = true;
    const ca = connect(a);
    await ca.register(reg('orders', 'lost-1'));
    await ca.register(reg('billing', 'lost-2'));
    await ca.register(reg('orders', 'gone'));
    const b = nodes[1] as HeraldServer;
    await untilRegistry(b, () => instances(b).length === 2, 'B got it');
    await losses.until(() => ['register lost-1', 'register lost-2', 'register gone'].every((x) => losses.values.includes(x)), 'the three registrations lost on their way to C');
    expect(instances(c)).toEqual([]);
    dropToC.on = false;
    // One verify pass (the loop runs one every --verify-interval-ms) repairs everything.
    await c.clusterNode?.verifyNow();
    expect(instances(c)).toEqual(['gone', 'lost-1']);
    expect(instances(c, 'billing')).toEqual(['lost-2']);
    // Deletions heal too: a cancel lost on its way to C is repaired from A's tombstone.
    dropToC.on = true;
    await ca.cancel({ namespace: '', group: '', service: 'orders', instanceId: 'gone' });
    await untilRegistry(b, () => !instances(b).includes('gone'), 'B got the cancel');
    await losses.until((x) => x === 'cancel gone', 'the cancel lost on its way to C');
    dropToC.on = false;
    expect(instances(c)).toContain('gone');
    await c.clusterNode?.verifyNow();
    expect(instances(c)).toEqual(['lost-1']);
  });

  it('renew replication: a peer missing the instance gets the registration; a newer peer copy is adopted (409)', async () => {
    const drop = new Set<number>();
    // Each task lost, as `port kind`, announced as it is lost.
    const lost = new Subject<string>();
    const losses = record(lost);
    const faulty = (address: string, secret: string | undefined, t: number): PeerLink => {
      const link = new GrpcPeerLink(address, secret, t);
      const port = Number(address.split(':').at(-1));
      return {
        address,
        replicate: async (nodeId, tasks) => {
          if (!drop.has(port)) return link.replicate(nodeId, tasks);
          for (const task of tasks) lost.next(`${port} ${task.kind}`);
          return { nodeId: '', answers: tasks.map(() => ({ kind: 'ok' as const })) };
        },
        syncRegistry: (id, deadline) => link.syncRegistry(id, deadline),
        listDigests: (id) => link.listDigests(id),
        fetchServices: (id, services) => link.fetchServices(id, services),
        close: () => {
          link.close();
        },
      };
    };
    const ports = await freePorts(2);
    const a = await startServer({ port: ports[0], ...clusterConfig(ports) }, { peerLinkFactory: faulty });
    const b = await startServer({ port: ports[1], ...clusterConfig(ports) }, { peerLinkFactory: faulty });
    const renewOnA = () => connect(a).renew({ namespace: '', group: '', service: 'orders', instanceId: 'i-1', lastDirtyTimestamp: 0 });

    // NOT_FOUND: B never got the registration; A's next renewal makes A send it.
    drop.add(ports[1] ?? 0);
    await connect(a).register(RegisterRequest.fromPartial({ service: 'orders', instance: { instanceId: 'i-1', ip: '10.0.0.1', port: 80, weight: 1, lastDirtyTimestamp: 1_000 } }));
    await losses.until((x) => x === `${ports[1] ?? 0} register`, 'the registration lost on its way to B');
    drop.clear();
    expect(instances(b)).toEqual([]);
    await renewOnA();
    await untilRegistry(b, () => instances(b).length === 1, 'B got the registration after NOT_FOUND');

    // CONFLICT: B holds a newer copy (weight 7) that never reached A; A's renewal carries the older
    // dirty timestamp, B answers with its copy, A adopts it.
    drop.add(ports[0] ?? 0);
    await connect(b).register(RegisterRequest.fromPartial({ service: 'orders', instance: { instanceId: 'i-1', ip: '10.0.0.1', port: 80, weight: 7, lastDirtyTimestamp: 2_000 } }));
    await losses.until((x) => x === `${ports[0] ?? 0} register`, "B's newer copy lost on its way to A");
    drop.clear();
    expect(a.registry.query({ service: 'orders' }).hosts[0]?.weight).toBe(1);
    await renewOnA();
    await untilRegistry(a, () => a.registry.query({ service: 'orders' }).hosts[0]?.weight === 7, 'A adopted the newer copy');
    expect(a.registry.query({ service: 'orders' }).hosts[0]?.lastDirtyTimestamp).toBe(2_000);
  });

  it('authenticates peers with the cluster secret', async () => {
    const ports = await freePorts(2);
    const good = await startServer({ port: ports[0], ...clusterConfig(ports, { clusterSecret: 's3cret' }) });
    const intruder = new GrpcPeerLink(`127.0.0.1:${String(ports[0])}`, 'wrong', 1_000);
    await expect(intruder.listDigests('x')).rejects.toMatchObject({ code: GrpcStatus.UNAUTHENTICATED });
    intruder.close();
    const anonymous = new GrpcPeerLink(`127.0.0.1:${String(ports[0])}`, undefined, 1_000);
    await expect(anonymous.listDigests('x')).rejects.toMatchObject({ code: GrpcStatus.UNAUTHENTICATED });
    anonymous.close();
    const peer = await startServer({ port: ports[1], ...clusterConfig(ports, { clusterSecret: 's3cret' }) });
    await connect(good).register(reg('orders', 'x'));
    await untilRegistry(peer, () => instances(peer).length === 1, 'replicated with the secret');
  });

  it('skips itself in the peer list, and starts alone when no peer answers', async () => {
    const [own, dead] = await freePorts(2);
    const node = await startServer({ port: own, ...clusterConfig([own ?? 0, dead ?? 0], { syncTimeoutMs: 300 }) });
    expect(node.clusterNode?.status().map((p) => p.address)).toEqual([`127.0.0.1:${String(dead)}`]);
    expect(node.clusterNode?.synced).toBe(true);
    await connect(node).register(reg('orders', 'alone'));
    expect(instances(node)).toEqual(['alone']);
  });
});
