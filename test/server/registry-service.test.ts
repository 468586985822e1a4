import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { ActionType, InstanceStatus, InstanceView } from '../../src/gen/herald/v1/model.js';
import { RegisterRequest, SubscribeRequest } from '../../src/gen/herald/v1/registry_service.js';
import { reconcileHash, serviceChecksum } from '../../src/core/checksum.js';
import { statusNameFromWire } from '../../src/common/wire-status.js';
import type { ServiceInfo } from '../../src/gen/herald/v1/model.js';
import { connect, hostIds, record, startServer } from '../support/server.js';

const reg = (service: string, instanceId: string, extra: Partial<RegisterRequest['instance']> = {}): RegisterRequest =>
  RegisterRequest.fromPartial({ service, instance: { instanceId, ip: '10.0.0.1', port: 8080, ...extra } });

const sub = (service: string, extra: Partial<SubscribeRequest> = {}): SubscribeRequest => SubscribeRequest.fromPartial({ service, ...extra });

/** A request carrying an enum number the contract does not define (as a newer or buggy client might send). */
function withWireStatus(req: RegisterRequest, status: number): RegisterRequest {
  Object.assign(req.instance ?? {}, { status });
  return req;
}

async function rejected(p: Promise<unknown>): Promise<ServiceError> {
  try {
    await p;
  } catch (e) {
    return e as ServiceError;
  }
  throw new Error('expected the call to fail');
}

describe('RegistryService over real sockets', () => {
  it('pushes a registration to a subscriber: first the current state, then the change', async () => {
    const server = await startServer();
    const c = connect(server);
    const pushes = record(c.subscribe(sub('orders')));
    await pushes.until(() => true, 'initial snapshot');
    expect(pushes.values[0]).toMatchObject({ name: 'orders', group: 'DEFAULT_GROUP', namespace: 'public', hosts: [] });
    await c.register(reg('orders', 'i-1', { metadata: { zone: 'a' } }));
    const info = await pushes.until((v) => v.hosts.length === 1, 'the registration pushed');
    expect(pushes.values).toHaveLength(2);
    expect(hostIds(info)).toEqual(['i-1']);
    expect(info.hosts[0]?.metadata).toEqual({ zone: 'a' });
    expect(info.revision).toBeGreaterThan(0);
    // 10 s configured, kept at half the UDP target expiry (10 s) while UDP push is on.
    expect(info.cacheMillis).toBe(5_000);
    // The checksum is reproducible by a client from the hosts it received.
    expect(info.checksum).toBe(
      serviceChecksum(info.hosts.map((h) => ({ ...h, status: statusNameFromWire(h.status) ?? 'UP', overriddenStatus: statusNameFromWire(h.overriddenStatus) }))),
    );
  });

  it('merges changes inside the merge window into one push', async () => {
    const server = await startServer({ mergeWindowMs: 200 });
    const c = connect(server);
    const pushes = record(c.subscribe(sub('burst')));
    await pushes.until(() => true, 'initial snapshot');
    await Promise.all(Array.from({ length: 20 }, (_, i) => c.register(reg('burst', `i-${i}`, { port: 1000 + i }))));
    await pushes.until((v) => v.hosts.length === 20, 'all 20 hosts');
    // 20 registrations arrive well within 200 ms of each other: a handful of pushes, not 20.
    expect(pushes.values.length - 1).toBeLessThanOrEqual(3);
  });

  it('answers NOT_FOUND to a renew after eviction, and the client can register again', async () => {
    const clock = new ManualClock(Date.now());
    const server = await startServer({ registry: { selfPreservation: false } }, { clock });
    const c = connect(server);
    await c.register(reg('orders', 'i-1', { lease: { durationMs: 1_000, renewalIntervalMs: 300, unhealthyAfterMs: 0 } }));
    const pushes = record(c.subscribe(sub('orders')));
    await pushes.until((v) => v.hosts.length === 1, 'initial snapshot with the instance');
    // Past the lease, then eviction now (the loop's interval is 60 s).
    clock.advance(1_001);
    expect(server.evictNow()).toBe(1);
    await pushes.until((v) => v.hosts.length === 0, 'removal push');
    const err = await rejected(c.renew({ namespace: '', group: '', service: 'orders', instanceId: 'i-1', lastDirtyTimestamp: 0 }));
    expect(err.code).toBe(GrpcStatus.NOT_FOUND);
    expect(err.details).toBe('instance i-1 of DEFAULT_GROUP@@orders in namespace public is not registered');
    await c.register(reg('orders', 'i-1'));
    await expect(c.renew({ namespace: '', group: '', service: 'orders', instanceId: 'i-1', lastDirtyTimestamp: 0 })).resolves.toMatchObject({
      renewalIntervalMs: 30_000,
    });
  });

  it('pushes a cancel', async () => {
    const server = await startServer();
    const c = connect(server);
    await c.register(reg('orders', 'i-1'));
    await c.register(reg('orders', 'i-2'));
    const pushes = record(c.subscribe(sub('orders')));
    await pushes.until((v) => v.hosts.length === 2, 'initial snapshot');
    const res = await c.cancel({ namespace: '', group: '', service: 'orders', instanceId: 'i-1' });
    expect(res.instance?.lease?.evictionTimestamp).toBeGreaterThan(0);
    await pushes.until((v) => v.hosts.length === 1, 'the cancel pushed');
    expect(pushes.values).toHaveLength(2);
    expect(hostIds(pushes.values[1] as ServiceInfo)).toEqual(['i-2']);
    expect((await rejected(c.cancel({ namespace: '', group: '', service: 'orders', instanceId: 'i-1' }))).code).toBe(GrpcStatus.NOT_FOUND);
  });

  it('pushes a status override and its deletion; healthy-only subscribers see the instance leave and return', async () => {
    const server = await startServer();
    const c = connect(server);
    await c.register(reg('orders', 'i-1'));
    const all = record(c.subscribe(sub('orders')));
    const healthy = record(c.subscribe(sub('orders', { healthyOnly: true })));
    await all.until(() => true, 'initial snapshot');
    await healthy.until(() => true, 'initial healthy-only snapshot');
    const set = await c.setStatus({ namespace: '', group: '', service: 'orders', instanceId: 'i-1', status: InstanceStatus.INSTANCE_STATUS_OUT_OF_SERVICE, lastDirtyTimestamp: 0 });
    expect(set.instance).toMatchObject({ status: InstanceStatus.INSTANCE_STATUS_OUT_OF_SERVICE, overriddenStatus: InstanceStatus.INSTANCE_STATUS_OUT_OF_SERVICE });
    await all.until((v) => v.hosts[0]?.status === InstanceStatus.INSTANCE_STATUS_OUT_OF_SERVICE, 'the override pushed');
    await healthy.until((v) => v.hosts.length === 0, 'the instance leaving the healthy-only view');
    expect(all.values).toHaveLength(2);
    expect(healthy.values).toHaveLength(2);
    await c.deleteStatusOverride({ namespace: '', group: '', service: 'orders', instanceId: 'i-1', status: InstanceStatus.INSTANCE_STATUS_UNSPECIFIED });
    await healthy.until((v) => v.hosts.length === 1, 'the deletion pushed');
    expect(healthy.values).toHaveLength(3);
    expect(healthy.values[2]?.hosts[0]).toMatchObject({ status: InstanceStatus.INSTANCE_STATUS_UP, overriddenStatus: InstanceStatus.INSTANCE_STATUS_UNSPECIFIED });
  });

  it('returns the recent changes as a delta with the reconcile hash of the full registry', async () => {
    const server = await startServer();
    const c = connect(server);
    await c.register(reg('a', '1'));
    await c.register(reg('b', '2'));
    await c.setStatus({ namespace: '', group: '', service: 'a', instanceId: '1', status: InstanceStatus.INSTANCE_STATUS_DOWN, lastDirtyTimestamp: 0 });
    await c.cancel({ namespace: '', group: '', service: 'b', instanceId: '2' });
    const delta = await c.fetchDelta({ namespace: '' });
    expect(delta.changes.map((ch) => [ch.action, ch.service, ch.instance?.instanceId])).toEqual([
      [ActionType.ACTION_TYPE_ADDED, 'a', '1'],
      [ActionType.ACTION_TYPE_ADDED, 'b', '2'],
      [ActionType.ACTION_TYPE_MODIFIED, 'a', '1'],
      [ActionType.ACTION_TYPE_DELETED, 'b', '2'],
    ]);
    expect(delta.retentionMs).toBe(180_000);
    const full = await c.fetchRegistry({ namespace: '' });
    expect(delta.reconcileHash).toBe(full.reconcileHash);
  });

  it('returns the full registry with a reconcile hash the client can recompute', async () => {
    const server = await startServer();
    const c = connect(server);
    await c.register(reg('a', '1', { metadata: { v: '1' } }));
    await c.register(reg('a', '2', { weight: 0.5 }));
    await c.register(RegisterRequest.fromPartial({ group: 'PAY', service: 'b', instance: { instanceId: '3', ip: 'b.internal', port: 1 } }));
    const full = await c.fetchRegistry({ namespace: '' });
    expect(full.services.map((s) => `${s.group}@@${s.name}`)).toEqual(['DEFAULT_GROUP@@a', 'PAY@@b']);
    const local = reconcileHash(
      full.services.map(
        (s) =>
          [
            `${s.group}@@${s.name}`,
            serviceChecksum(s.hosts.map((h) => ({ ...h, status: statusNameFromWire(h.status) ?? 'UP', overriddenStatus: statusNameFromWire(h.overriddenStatus) }))),
          ] as const,
      ),
    );
    expect(local).toBe(full.reconcileHash);
    expect((await c.fetchRegistry({ namespace: 'empty' })).services).toEqual([]);
  });

  it('rejects bad input with INVALID_ARGUMENT naming each field, and changes nothing', async () => {
    const server = await startServer();
    const c = connect(server);
    await c.register(reg('orders', 'i-1'));
    const pushes = record(c.subscribe(sub('orders')));
    await pushes.until(() => true, 'initial snapshot');
    const before = await c.fetchDelta({ namespace: '' });
    const cases: [RegisterRequest, string][] = [
      [RegisterRequest.fromPartial({ service: 'orders', instance: { instanceId: 'i-1', port: 80 } }), 'instance.ip is required'],
      [reg('orders', 'i-1', { port: 70_000 }), 'instance.port must be between 1 and 65535 (got 70000)'],
      [reg('orders', 'i-1', { weight: -1 }), 'instance.weight must be between 0 and 10000 (got -1)'],
      [withWireStatus(reg('orders', 'i-1'), 99), 'instance.status "99" is not one of UP, DOWN, STARTING, OUT_OF_SERVICE, UNKNOWN'],
      [RegisterRequest.fromPartial({ service: 'orders' }), 'instance is required'],
      [reg('bad name', 'i-1'), `service "bad name" may only contain letters, digits, '.', '_', '-' and ':'`],
      [
        RegisterRequest.fromPartial({ instance: { instanceId: 'x', port: 0 } }),
        'service is required; instance.ip is required; instance.port is required',
      ],
    ];
    for (const [request, message] of cases) {
      const err = await rejected(c.register(request));
      expect(err.code).toBe(GrpcStatus.INVALID_ARGUMENT);
      expect(err.details).toBe(message);
    }
    const getErr = await rejected(c.getService({ namespace: '', group: '', service: '', clusters: [], healthyOnly: false, udpPort: 0, view: InstanceView.INSTANCE_VIEW_UNSPECIFIED }));
    expect([getErr.code, getErr.details]).toEqual([GrpcStatus.INVALID_ARGUMENT, 'service is required']);
    const after = await c.fetchDelta({ namespace: '' });
    expect(after.changes).toEqual(before.changes);
    expect(after.reconcileHash).toBe(before.reconcileHash);
    expect(pushes.values).toHaveLength(1);
  });

  it('refuses a last_dirty_timestamp years ahead, so nobody can freeze a record against its owner', async () => {
    const server = await startServer();
    const t = connect(server);
    const tenYears = Date.now() + 10 * 365 * 86_400_000;
    const e = await rejected(t.register(reg('orders', 'i-1', { lastDirtyTimestamp: tenYears, ip: '10.6.6.6' })));
    expect(e.code).toBe(GrpcStatus.INVALID_ARGUMENT);
    expect(e.details).toMatch(/^instance\.last_dirty_timestamp \d+ is \d+ ms ahead of the server's clock; at most 60000 ms of clock skew is accepted/);
    expect(server.registry.stats().instances).toBe(0);
    // The owner registers and updates its instance as usual.
    await t.register(reg('orders', 'i-1'));
    const updated = await t.register(reg('orders', 'i-1', { ip: '10.0.0.2' }));
    expect(updated.instance?.ip).toBe('10.0.0.2');
  });

  it('fails a Subscribe with a bad address with INVALID_ARGUMENT', async () => {
    const server = await startServer();
    const c = connect(server);
    const pushes = record(c.subscribe(sub('')));
    const error = await pushes.failure('the stream to fail');
    expect((error as ServiceError).code).toBe(GrpcStatus.INVALID_ARGUMENT);
    expect(server.stats().streams).toBe(0);
  });

  it('answers RESOURCE_EXHAUSTED for a request larger than the message size limit', async () => {
    const server = await startServer({ maxMessageBytes: 2_048, registry: { maxMetadataBytes: 1_000_000 } });
    const c = connect(server);
    const err = await rejected(c.register(reg('orders', 'i-1', { metadata: { big: 'x'.repeat(4_096) } })));
    expect(err.code).toBe(GrpcStatus.RESOURCE_EXHAUSTED);
    expect(server.registry.stats().instances).toBe(0);
  });

  it('answers RESOURCE_EXHAUSTED at the per-service limit', async () => {
    const server = await startServer({ registry: { maxInstancesPerService: 1 } });
    const c = connect(server);
    await c.register(reg('orders', 'i-1'));
    const err = await rejected(c.register(reg('orders', 'i-2')));
    expect(err.code).toBe(GrpcStatus.RESOURCE_EXHAUSTED);
  });

  it('lists services in pages and reads single instances with their live lease', async () => {
    const server = await startServer();
    const c = connect(server);
    for (const s of ['c', 'a', 'b']) await c.register(reg(s, '1'));
    const p1 = await c.listServices({ namespace: '', group: '', pageSize: 2, pageToken: '' });
    expect(p1.services.map((s) => s.name)).toEqual(['a', 'b']);
    expect(p1.totalSize).toBe(3);
    const p2 = await c.listServices({ namespace: '', group: '', pageSize: 2, pageToken: p1.nextPageToken });
    expect(p2.services.map((s) => s.name)).toEqual(['c']);
    await c.renew({ namespace: '', group: '', service: 'a', instanceId: '1', lastDirtyTimestamp: 0 });
    const one = await c.getInstance({ namespace: '', group: '', service: 'a', instanceId: '1' });
    expect(one.instance?.lease?.lastRenewalTimestamp).toBeGreaterThan(0);
    const svc = await c.updateService({ namespace: '', group: '', service: 'a', protectThreshold: 0.5, metadata: { owner: 'x' } });
    expect(svc.service).toMatchObject({ protectThreshold: 0.5, metadata: { owner: 'x' }, instanceCount: 1 });
  });
});
