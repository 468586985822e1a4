/**
 * Persistent state in a 3-node cluster of real `herald serve` processes, each with its own store: a
 * node killed with kill -9 misses a cancel, a registration and a status override; when it comes
 * back it loads its store, then syncs from a peer, and ends up holding what the others hold. Once
 * all three are stopped, their stores hold the same instances at the same versions and the cancel.
 * Service settings replicate live, at write versions, and are compared and repaired by anti-entropy.
 */
import { describe, expect, it } from 'vitest';
import { InstanceStatus } from '../../src/gen/herald/v1/model.js';
import { ListServicesRequest, RegisterRequest, SetStatusRequest, SubscribeRequest, UpdateServiceRequest } from '../../src/gen/herald/v1/registry_service.js';
import { silentLogger } from '../../src/common/logger.js';
import { systemClock } from '../../src/core/clock.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import { tempDataDir } from '../support/data-dir.js';
import { FaultCluster, pollUntil } from '../support/fault-cluster.js';
import type { FaultNode } from '../support/fault-node.js';
import { connect, onCleanup, record } from '../support/server.js';

const persistent = (id: string, port: number): RegisterRequest =>
  RegisterRequest.fromPartial({ service: 'db', instance: { instanceId: id, ip: '127.0.0.1', port, ephemeral: false, metadata: { 'herald.probe': 'none' } } });

describe('a 3-node cluster with stores', () => {
  it('converges on persistent state after a node was down, in memory and on disk', async () => {
    const dirs = { A: tempDataDir('herald-A-'), B: tempDataDir('herald-B-'), C: tempDataDir('herald-C-') };
    const cluster = await FaultCluster.start({
      flags: ['--verify-interval-ms', '500', '--sync-timeout-ms', '5000'],
      nodeFlags: { A: ['--data-dir', dirs.A], B: ['--data-dir', dirs.B], C: ['--data-dir', dirs.C] },
    });
    onCleanup(() => cluster.close());
    const [a, c] = [cluster.node('A'), cluster.node('C')];
    const onA = connect(a.port);
    await onA.register(persistent('p-1', 5001));
    await onA.register(persistent('p-2', 5002));
    const seenByC = record(connect(c.port).subscribe(SubscribeRequest.fromPartial({ service: 'db' })));
    await seenByC.until(
      (s) => s.hosts.length === 2,
      'both instances replicated to C',
      () => cluster.tails(),
    );

    await c.kill9();
    await onA.cancel({ namespace: '', group: '', service: 'db', instanceId: 'p-1' });
    await onA.register(persistent('p-3', 5003));
    await onA.setStatus(SetStatusRequest.fromPartial({ service: 'db', instanceId: 'p-2', status: InstanceStatus.INSTANCE_STATUS_OUT_OF_SERVICE }));

    await c.restart();
    const afterRestart = record(connect(c.port).subscribe(SubscribeRequest.fromPartial({ service: 'db' })));
    const want = (hosts: readonly { instanceId: string; status: InstanceStatus }[]): boolean =>
      hosts.map((h) => `${h.instanceId}:${h.status}`).join(',') === `p-2:${InstanceStatus.INSTANCE_STATUS_OUT_OF_SERVICE},p-3:${InstanceStatus.INSTANCE_STATUS_UP}`;
    await afterRestart.until(
      (s) => want(s.hosts),
      'C to hold p-2 (overridden) and p-3, without p-1',
      () => cluster.tails(),
    );

    for (const n of cluster.nodes) await n.terminate();
    const stores = await Promise.all(
      Object.values(dirs).map(async (dir) => {
        const s = await SqliteStore.open({ dir, clock: systemClock, logger: silentLogger });
        await s.close();
        return {
          instances: s.loaded.instances.map((i) => [i.record.instanceId, i.record.version, i.record.status]).sort(),
          tombstones: s.loaded.tombstones.map((t) => [t.instanceId, t.version]),
        };
      }),
    );
    expect(stores[0]?.instances.map((i) => i[0])).toEqual(['p-2', 'p-3']);
    expect(stores[0]?.tombstones.map((t) => t[0])).toEqual(['p-1']);
    expect(stores[1]).toEqual(stores[0]);
    expect(stores[2]).toEqual(stores[0]);
  });

  it('replicates service settings live; a node down while they change converges, in memory and on disk, also after anti-entropy', async () => {
    const dirs = { A: tempDataDir('herald-A-'), B: tempDataDir('herald-B-'), C: tempDataDir('herald-C-') };
    const cluster = await FaultCluster.start({
      flags: ['--verify-interval-ms', '300', '--sync-timeout-ms', '5000', '--log-level', 'debug'],
      nodeFlags: { A: ['--data-dir', dirs.A], B: ['--data-dir', dirs.B], C: ['--data-dir', dirs.C] },
    });
    onCleanup(() => cluster.close());
    const [a, b, c] = [cluster.node('A'), cluster.node('B'), cluster.node('C')];
    const settingsOn = async (n: FaultNode): Promise<string> => {
      const services = (await connect(n.port).listServices(ListServicesRequest.fromPartial({}))).services;
      return JSON.stringify(services.map((s) => [s.name, s.protectThreshold, s.metadata]));
    };
    const allShow = (want: string, what: string): Promise<number> =>
      pollUntil(what, async () => (await Promise.all(cluster.nodes.map(settingsOn))).every((s) => s === want), { timeoutMs: 10_000 });

    // Live: an UpdateService on A reaches B and C by replication (no restart, no sync).
    await connect(a.port).updateService(UpdateServiceRequest.fromPartial({ service: 'db', protectThreshold: 0.4, metadata: { owner: 'a' } }));
    await allShow(JSON.stringify([['db', 0.4, { owner: 'a' }]]), 'every node to show A’s settings');

    await c.kill9();
    await connect(b.port).updateService(UpdateServiceRequest.fromPartial({ service: 'db', protectThreshold: 0.7, metadata: { owner: 'b', tier: 'gold' } }));
    await connect(a.port).updateService(UpdateServiceRequest.fromPartial({ service: 'queue', protectThreshold: 0.2 }));
    await c.restart();
    const want = JSON.stringify([
      ['db', 0.7, { owner: 'b', tier: 'gold' }],
      ['queue', 0.2, {}],
    ]);
    await allShow(want, 'C to take the settings it missed');

    // Anti-entropy has run since on every node, against every peer, and changed nothing.
    const after = cluster.nodes.map((n) => n.logCursor());
    const peersVerified = (n: FaultNode, i: number): number => new Set(n.logs({ after: after[i] ?? 0, match: /anti-entropy: nothing to repair/ }).map((l) => l.fields.peer)).size;
    await pollUntil('an anti-entropy pass against both peers on every node', () => cluster.nodes.every((n, i) => peersVerified(n, i) === 2), { timeoutMs: 10_000 });
    expect(await Promise.all(cluster.nodes.map(settingsOn))).toEqual([want, want, want]);

    for (const n of cluster.nodes) await n.terminate();
    const stores = await Promise.all(
      Object.values(dirs).map(async (dir) => {
        const s = await SqliteStore.open({ dir, clock: systemClock, logger: silentLogger });
        await s.close();
        return s.loaded.services.map((x) => [x.service, x.protectThreshold, x.metadata, x.version]).sort();
      }),
    );
    expect(stores[0]?.map((x) => x[0])).toEqual(['db', 'queue']);
    expect(stores[0]?.every((x) => Number(x[3]) > 0)).toBe(true);
    expect(stores[1]).toEqual(stores[0]);
    expect(stores[2]).toEqual(stores[0]);
  });
});
