import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { lastValueFrom, Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { createRegistryClient, type RegistryClient, type RegistryClientOptions, type ServiceChangeEvent } from '../../src/client/index.js';
import { ManualClock } from '../../src/core/clock.js';
import { onCleanup, record, startServer, untilRegistry, type Recording } from '../support/server.js';

function client(port: number | number[], options: Partial<RegistryClientOptions> = {}): RegistryClient {
  const ports = Array.isArray(port) ? port : [port];
  const c = createRegistryClient({ servers: ports.map((p) => `127.0.0.1:${p}`), resubscribeBackoffMaxMs: 200, heartbeatBackoffMaxMs: 200, ...options });
  onCleanup(() => c.close());
  return c;
}

function watch(c: RegistryClient, service: string): Recording<ServiceChangeEvent> {
  return record(c.watch$(service));
}

/** The lines a child process prints on stdout, recorded. */
function stdoutLines(child: ChildProcessByStdio<null, Readable, null>): Recording<string> {
  const lines = new Subject<string>();
  createInterface({ input: child.stdout }).on('line', (l) => {
    lines.next(l);
  });
  return record(lines);
}

const ids = (e: ServiceChangeEvent | undefined) => e?.snapshot.hosts.map((h) => h.instanceId) ?? [];

describe('SDK against a real server', () => {
  it('registers through one client and pushes the change to another', async () => {
    const server = await startServer({ mergeWindowMs: 2 });
    const owner = client(server.port);
    const watcher = client(server.port);
    const events = watch(watcher, 'orders');
    await events.until(() => true, 'initial');
    const handle = owner.register({ service: 'orders', ip: '10.0.0.1', port: 80, metadata: { v: '1' } });
    const pushed = await events.until((e) => e.diff.added.length === 1, 'pushed registration');
    expect(handle.instanceId).toBe('10.0.0.1#80#DEFAULT#DEFAULT_GROUP@@orders');
    expect(pushed.diff.added[0]?.metadata).toEqual({ v: '1' });
    expect(await watcher.selectOneHealthyInstance('orders')).toMatchObject({ ip: '10.0.0.1', port: 80 });
    await handle.deregister();
    // Empty-push protection is on by default: the last non-empty list stays.
    expect((await watcher.getServiceInfo('orders')).snapshot.hosts).toHaveLength(1);
  });

  it('updates a registration in place and makes the admin calls: status override, its deletion, service settings', async () => {
    const server = await startServer({ mergeWindowMs: 2 });
    const owner = client(server.port);
    const events = watch(client(server.port), 'orders');
    await events.until(() => true, 'initial');
    const handle = owner.register({ service: 'orders', ip: '10.0.0.1', port: 80, weight: 1, metadata: { v: '1' } });
    await events.until((e) => e.diff.added.length === 1, 'registration');
    const updated = await handle.update({ weight: 7, metadata: { v: '2' } });
    expect(updated).toMatchObject({ instanceId: '10.0.0.1#80#DEFAULT#DEFAULT_GROUP@@orders', weight: 7, metadata: { v: '2' } });
    const modified = await events.until((e) => e.diff.modified.length === 1, 'update pushed');
    expect(modified.snapshot.hosts).toEqual([expect.objectContaining({ instanceId: handle.instanceId, weight: 7, metadata: { v: '2' } })]);
    expect(owner.stats().registrations).toBe(1);
    const instanceId = handle.instanceId ?? '';
    expect(await owner.setStatus({ service: 'orders', instanceId, status: 'OUT_OF_SERVICE' })).toMatchObject({ status: 'OUT_OF_SERVICE', overriddenStatus: 'OUT_OF_SERVICE' });
    await events.until((e) => e.snapshot.hosts[0]?.status === 'OUT_OF_SERVICE', 'override pushed');
    expect(await owner.deleteStatusOverride({ service: 'orders', instanceId })).toMatchObject({ status: 'UP', overriddenStatus: undefined });
    expect(await owner.updateService({ service: 'orders', protectThreshold: 0.25, metadata: { owner: 'team-a' } })).toMatchObject({
      name: 'orders',
      instanceCount: 1,
      protectThreshold: 0.25,
      metadata: { owner: 'team-a' },
    });
    expect((await owner.getServiceInfo('orders', { subscribe: false })).snapshot.protectThreshold).toBe(0.25);
    await expect(owner.setStatus({ service: 'orders', instanceId: 'nope', status: 'DOWN' })).rejects.toMatchObject({ code: 5 });
  });

  it('serves cached answers, marked stale, when the server dies, and a new client serves the disk copy', async () => {
    const server = await startServer();
    const cacheDir = mkdtempSync(join(tmpdir(), 'herald-sdk-'));
    const owner = client(server.port);
    owner.register({ service: 'orders', ip: '10.0.0.1', port: 80 });
    const reader = client(server.port, { cacheDir });
    const events = watch(reader, 'orders');
    const connection = record(reader.connection$);
    await events.until((e) => ids(e).length === 1, 'instance seen');
    await server.close();
    await connection.until((s) => !s.reachable, 'server unreachable noticed');
    const cached = await reader.getServiceInfo('orders');
    expect(cached).toMatchObject({ stale: true, source: 'push' });
    expect(cached.snapshot.hosts).toHaveLength(1);
    await reader.close();
    const fresh = client(server.port, { cacheDir, loadCacheAtStart: true });
    const fromDisk = await fresh.getServiceInfo('orders');
    expect(fromDisk).toMatchObject({ stale: true, source: 'disk' });
    expect(fromDisk.snapshot.hosts[0]?.ip).toBe('10.0.0.1');
    // Failover mode serves the disk copy even for a client that never loaded it.
    const operator = client(server.port, { cacheDir });
    operator.setFailover(true);
    expect((await operator.getServiceInfo('orders')).source).toBe('disk');
  });

  it('re-registers and resubscribes by itself when the server restarts on the same port', async () => {
    const first = await startServer({ mergeWindowMs: 2 });
    const port = first.port;
    const c = client(port);
    const handle = c.register({ service: 'orders', ip: '10.0.0.1', port: 80 });
    const events = watch(c, 'orders');
    await events.until((e) => ids(e).length === 1, 'registered and seen');
    await first.close();
    const second = await startServer({ port, mergeWindowMs: 2 });
    // Redo after reconnect: the new, empty server learns the instance without waiting for a renewal.
    await untilRegistry(second, () => second.registry.stats().instances === 1, 're-registered on the new server');
    expect(handle.state.kind).toBe('registered');
    // Pushes resume: another instance registered on the new server reaches the watcher.
    const other = client(port);
    other.register({ service: 'orders', ip: '10.0.0.2', port: 80 });
    await events.until((e) => ids(e).length === 2, 'push after restart');
  });

  it('a registration the server refuses ends rejected, with the reason, and the client lets it go', async () => {
    const server = await startServer();
    const c = client(server.port);
    const handle = c.register({ service: 'orders', ip: 'not an ip!', port: 80 });
    const final = await lastValueFrom(handle.state$);
    expect(final).toEqual({ kind: 'rejected', code: 'INVALID_ARGUMENT', reason: 'instance.ip "not an ip!" is not an IPv4 or IPv6 address or a host name' });
    expect(c.stats().registrations).toBe(0);
    expect(server.registry.stats().instances).toBe(0);
  });

  it('fails over to the next server and re-registers there', async () => {
    const a = await startServer();
    const b = await startServer();
    const c = client([a.port, b.port]);
    c.register({ service: 'orders', ip: '10.0.0.1', port: 80, renewalIntervalMs: 300, leaseDurationMs: 1_000 });
    await untilRegistry(a, () => a.registry.stats().instances === 1, 'registered on a');
    await a.close();
    await untilRegistry(b, () => b.registry.stats().instances === 1, 'registered on b after fail-over');
    expect(c.stats().server).toBe(`127.0.0.1:${b.port}`);
  });

  it('a client process killed with SIGKILL is evicted after its lease and watchers see it removed', async () => {
    // Leases run on the server's clock, which the test moves; the eviction loop's timer is real.
    const clock = new ManualClock(Date.now());
    const server = await startServer({ evictionIntervalMs: 100, mergeWindowMs: 2, registry: { selfPreservation: false } }, { clock });
    const watcher = client(server.port);
    // A second, healthy instance keeps the list non-empty, so the removal is a visible change.
    watcher.register({ service: 'orders', ip: '10.0.0.9', port: 9, instanceId: 'survivor' });
    const events = watch(watcher, 'orders');
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/client-process.ts', `127.0.0.1:${server.port}`, 'orders', '1000', '300'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    onCleanup(() => child.kill('SIGKILL'));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const lines = stdoutLines(child);
    await lines.until((l) => l.startsWith('registered'), 'child registered');
    await events.until((e) => ids(e).length === 2, 'watcher sees the child');
    child.kill('SIGKILL');
    await exited;
    // The kernel closed the child's connection before reporting its exit: a renewal it had sent
    // is read in this turn of the event loop, before this one ends. Then its 1 s lease runs out.
    await new Promise((resolve) => setImmediate(resolve));
    clock.advance(1_001);
    const removal = await events.until((e) => e.diff.removed.length === 1, 'watcher sees the removal');
    expect(removal.diff.removed[0]?.instanceId).toBe('10.7.7.7#7777#DEFAULT#DEFAULT_GROUP@@orders');
    expect(ids(removal)).toEqual(['survivor']);
    expect(server.registry.stats().instances).toBe(1);
  });
});
