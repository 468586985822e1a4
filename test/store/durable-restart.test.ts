/**
 * Durability on the shipped composition: real `herald serve` processes over one data directory.
 * A restart keeps persistent instances (registered over gRPC and the Nacos API), their status
 * overrides, service settings and cancels, and forgets ephemeral instances; a kill -9 in the middle
 * of a burst of persistent registrations loses none that was acknowledged, and the store reopens.
 */
import { describe, expect, it } from 'vitest';
import { InstanceStatus } from '../../src/gen/herald/v1/model.js';
import {
  DeleteStatusOverrideRequest,
  GetServiceRequest,
  ListServicesRequest,
  RegisterRequest,
  SetStatusRequest,
  SubscribeRequest,
  UpdateServiceRequest,
} from '../../src/gen/herald/v1/registry_service.js';
import { GrpcPeerLink } from '../../src/server/peer/grpc-peer-link.js';
import { silentLogger } from '../../src/common/logger.js';
import { systemClock } from '../../src/core/clock.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import { serve } from '../support/cli.js';
import { tempDataDir } from '../support/data-dir.js';
import { connect, onCleanup, record, within } from '../support/server.js';

const persistent = (service: string, id: string, port: number): RegisterRequest =>
  RegisterRequest.fromPartial({ service, instance: { instanceId: id, ip: '127.0.0.1', port, ephemeral: false, metadata: { 'herald.probe': 'none' } } });

describe('a restart', () => {
  it('keeps persistent instances, overrides, service settings and cancels; forgets ephemeral instances', async () => {
    const dir = tempDataDir();
    const first = await serve(['--data-dir', dir]);
    const http = Number(/"http":"[^"]*:(\d+)"/.exec(await first.line(/herald is serving/, 'stderr'))?.[1]);
    const c = connect(first.port);
    await c.register(persistent('db', 'db-1', 5432));
    await c.register(persistent('db', 'db-2', 5433));
    await c.register(persistent('db', 'db-3', 5434));
    await c.register(RegisterRequest.fromPartial({ service: 'db', instance: { instanceId: 'eph-1', ip: '127.0.0.1', port: 6000 } }));
    const nacos = await fetch(
      `http://127.0.0.1:${http}/nacos/v1/ns/instance?serviceName=cache&ip=127.0.0.1&port=6379&ephemeral=false&metadata=${encodeURIComponent('{"herald.probe":"none"}')}`,
      {
        method: 'POST',
      },
    );
    expect(await nacos.text()).toBe('ok');
    await c.setStatus(SetStatusRequest.fromPartial({ service: 'db', instanceId: 'db-2', status: InstanceStatus.INSTANCE_STATUS_OUT_OF_SERVICE }));
    await c.updateService(UpdateServiceRequest.fromPartial({ service: 'db', protectThreshold: 0.6, metadata: { owner: 'dba' } }));
    await c.updateService(UpdateServiceRequest.fromPartial({ service: 'empty', protectThreshold: 0.3 }));
    await c.cancel({ namespace: '', group: '', service: 'db', instanceId: 'db-3' });
    first.proc.kill('SIGTERM');
    expect(await first.exited).toBe(0);

    const second = await serve(['--data-dir', dir]);
    const c2 = connect(second.port);
    const db = (await c2.getService(GetServiceRequest.fromPartial({ service: 'db' }))).serviceInfo;
    expect(db?.hosts.map((h) => [h.instanceId, h.status, h.overriddenStatus, h.ephemeral])).toEqual([
      ['db-1', InstanceStatus.INSTANCE_STATUS_UP, InstanceStatus.INSTANCE_STATUS_UNSPECIFIED, false],
      ['db-2', InstanceStatus.INSTANCE_STATUS_OUT_OF_SERVICE, InstanceStatus.INSTANCE_STATUS_OUT_OF_SERVICE, false],
    ]);
    const cache = (await c2.getService(GetServiceRequest.fromPartial({ service: 'cache' }))).serviceInfo;
    expect(cache?.hosts.map((h) => [h.ip, h.port, h.ephemeral])).toEqual([['127.0.0.1', 6379, false]]);
    const services = (await c2.listServices(ListServicesRequest.fromPartial({}))).services;
    expect(services.filter((s) => s.name !== 'cache').map((s) => [s.name, s.protectThreshold, s.metadata])).toEqual([
      ['db', 0.6, { owner: 'dba' }],
      ['empty', 0.3, {}],
    ]);
    // db-3 stays cancelled: its tombstone came back from the store, so no older copy of it can return.
    const line = await second.line(/herald is serving/, 'stderr');
    expect((JSON.parse(line) as { restored: unknown }).restored).toEqual({ instances: 3, tombstones: 1, services: 2, overrides: 0, skipped: 0 });
  });

  it('refuses a data directory whose file is not a herald store, naming it, without a stack trace', async () => {
    const dir = tempDataDir();
    const { writeFileSync } = await import('node:fs');
    writeFileSync(`${dir}/herald.db`, 'not a database '.repeat(100));
    const p = serve(['--data-dir', dir]);
    await expect(p).rejects.toThrow(/exited \(1\)/);
    const err = await p.catch((e: unknown) => String(e));
    expect(err).toContain(`herald: ${dir}/herald.db: is not a herald store: file is not a database`);
    expect(err).not.toMatch(/\n\s+at /);
  });
});

describe('kill -9 during a burst of persistent writes', () => {
  it('loses no acknowledged write, and the store opens', async () => {
    const dir = tempDataDir();
    const node = await serve(['--data-dir', dir]);
    const c = connect(node.port);
    const acknowledged: string[] = [];
    let killed = false;
    const killAfter = 300;
    const writer = async (w: number): Promise<void> => {
      for (let i = 0; !killed; i++) {
        const id = `w${w}-${i}`;
        try {
          await c.register(persistent('burst', id, 1000 + (i % 50_000)));
        } catch {
          return; // the server is gone: this write was not acknowledged
        }
        acknowledged.push(id);
        if (acknowledged.length === killAfter) {
          killed = true;
          node.proc.kill('SIGKILL');
        }
      }
    };
    await Promise.all(Array.from({ length: 16 }, (_, w) => writer(w)));
    await within(node.exited, 'the server to die');
    expect(acknowledged.length).toBeGreaterThanOrEqual(killAfter);
    const store = await SqliteStore.open({ dir, clock: systemClock, logger: silentLogger });
    onCleanup(() => store.close());
    const stored = new Set(store.loaded.instances.map((i) => i.record.instanceId));
    expect(acknowledged.filter((id) => !stored.has(id))).toEqual([]);
  });
});

describe('a status override of an ephemeral instance', () => {
  const eph = (id: string): RegisterRequest => RegisterRequest.fromPartial({ service: 'web', instance: { instanceId: id, ip: '127.0.0.1', port: 8080 } });
  const OOS = InstanceStatus.INSTANCE_STATUS_OUT_OF_SERVICE;
  const UP = InstanceStatus.INSTANCE_STATUS_UP;

  for (const stop of ['SIGTERM', 'SIGKILL'] as const) {
    it(`survives a restart (${stop}): the instance registers again and is OUT_OF_SERVICE, as its subscribers see`, async () => {
      const dir = tempDataDir();
      const first = await serve(['--data-dir', dir]);
      const c = connect(first.port);
      await c.register(eph('web-1'));
      await c.register(eph('web-2'));
      await c.setStatus(SetStatusRequest.fromPartial({ service: 'web', instanceId: 'web-1', status: OOS }));
      first.proc.kill(stop);
      await within(first.exited, 'the first server to stop');

      const second = await serve(['--data-dir', dir]);
      const line = await second.line(/herald is serving/, 'stderr');
      expect((JSON.parse(line) as { restored: { overrides: number } }).restored.overrides).toBe(1);
      const c2 = connect(second.port);
      const seen = record(c2.subscribe(SubscribeRequest.fromPartial({ service: 'web' })));
      // The instances renew, hear NOT_FOUND, and register again, as their clients do.
      await expect(c2.renew({ namespace: '', group: '', service: 'web', instanceId: 'web-1', lastDirtyTimestamp: 0 })).rejects.toMatchObject({ code: 5 });
      await c2.register(eph('web-1'));
      await c2.register(eph('web-2'));
      await seen.until((s) => s.hosts.map((h) => `${h.instanceId}:${h.status}`).join(',') === `web-1:${OOS},web-2:${UP}`, 'web-1 OUT_OF_SERVICE again and web-2 UP');

      // Deleting the override removes it from the store: after another restart it is UP.
      await c2.deleteStatusOverride(DeleteStatusOverrideRequest.fromPartial({ service: 'web', instanceId: 'web-1' }));
      second.proc.kill('SIGTERM');
      expect(await second.exited).toBe(0);
      const third = await serve(['--data-dir', dir]);
      const c3 = connect(third.port);
      const r = await c3.register(eph('web-1'));
      expect(r.instance?.status).toBe(UP);
    });
  }
});

describe("a peer's cancel of a persistent instance this node never held", () => {
  it('is stored as a tombstone: after a kill -9 and restart an older copy from a stale peer is refused', async () => {
    const dir = tempDataDir();
    const node = await serve(['--data-dir', dir]);
    const link = new GrpcPeerLink(`127.0.0.1:${node.port}`, undefined, 10_000);
    onCleanup(() => {
      link.close();
    });
    const ref = { namespace: 'public', group: 'DEFAULT_GROUP', service: 'db', instanceId: 'p-1' };
    const now = Date.now();
    const registeredAt = (now - 1_000) * 1000;
    const tombstone = { ...ref, version: registeredAt + 1, deletedAt: now, expiresAt: now + 86_400_000, persistent: true };
    const cancel = await link.replicate('peer-a', [{ kind: 'cancel', ref, tombstone, replication: false }]);
    expect(cancel.answers).toEqual([{ kind: 'ok' }]);
    node.proc.kill('SIGKILL');
    await within(node.exited, 'the server to die');
    const store = await SqliteStore.open({ dir, clock: systemClock, logger: silentLogger });
    expect(store.loaded.tombstones.map((t) => [t.instanceId, t.version])).toEqual([['p-1', tombstone.version]]);
    await store.close();

    const again = await serve(['--data-dir', dir]);
    const stale = new GrpcPeerLink(`127.0.0.1:${again.port}`, undefined, 10_000);
    onCleanup(() => {
      stale.close();
    });
    // A stale peer still holds p-1 at the version before the cancel.
    const record = {
      instanceId: 'p-1',
      ip: '127.0.0.1',
      port: 5432,
      weight: 1,
      healthy: true,
      reportedHealthy: true,
      unhealthyAfterMs: 0,
      enabled: true,
      ephemeral: false,
      cluster: 'DEFAULT',
      metadata: { 'herald.probe': 'none' },
      status: 'UP' as const,
      overriddenStatus: undefined,
      registeredStatus: 'UP' as const,
      lastDirtyTimestamp: now - 1_000,
      lastUpdatedTimestamp: now - 1_000,
      leaseDurationMs: 90_000,
      renewalIntervalMs: 30_000,
      registrationTimestamp: now - 1_000,
      serviceUpTimestamp: now - 1_000,
      evictionTimestamp: 0,
      version: registeredAt,
      registrant: '',
      transport: 'grpc' as const,
    };
    const res = await stale.replicate('peer-b', [{ kind: 'register', ref, record, lastRenewalMs: now, replication: false }]);
    expect(res.answers[0]).toMatchObject({ kind: 'deleted', tombstone: { version: tombstone.version } });
    const db = (await connect(again.port).getService(GetServiceRequest.fromPartial({ service: 'db' }))).serviceInfo;
    expect(db?.hosts ?? []).toEqual([]);
  });
});
