/**
 * The SDK follows services over one Watch stream of deltas: it resumes after a network blip (the
 * server sends nothing or only the change), and repairs a gap or a checksum mismatch by watching
 * again from a snapshot, without its followers noticing.
 */
import { EventEmitter } from 'node:events';
import type { ClientDuplexStream } from '@grpc/grpc-js';
import { Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { createRegistryClient } from '../../src/client/index.js';
import { checksumOf } from '../../src/client/delta-follower.js';
import { WatchMux } from '../../src/client/watch-mux.js';
import { Instance, ServiceInfo } from '../../src/gen/herald/v1/model.js';
import type { WatchRequest, WatchResponse } from '../../src/gen/herald/v1/registry_service.js';
import { eventually, onCleanup, record, startServer } from '../support/server.js';
import { startTcpProxy } from './tcp-proxy.js';

describe('the SDK over Watch', () => {
  it('after a network blip resumes: nothing resent when nothing changed, only the change when one did', async () => {
    const server = await startServer();
    const proxy = await startTcpProxy(server.port);
    const client = createRegistryClient({ servers: [`127.0.0.1:${proxy.port}`], resubscribeBackoffMaxMs: 100, heartbeatBackoffMaxMs: 100 });
    onCleanup(() => client.close());
    server.registry.register({ service: 'orders', instance: { instanceId: 'a', ip: '10.0.0.1', port: 80 } });
    const events = record(client.watch$('orders'));
    await events.until((e) => e.snapshot.hosts.length === 1, 'the first state');

    proxy.down();
    proxy.up();
    // Nothing new reaches the application, so there is no event to wait on but the server's count.
    await eventually(() => server.stats().resumed.unchanged === 1, 'the watch resumed with nothing new');
    expect(server.stats().resumed).toEqual({ unchanged: 1, delta: 0, snapshot: 0 });

    // Cut again, and change the service while the client is away.
    proxy.down();
    server.registry.register({ service: 'orders', instance: { instanceId: 'b', ip: '10.0.0.2', port: 80 } });
    proxy.up();
    const after = await events.until((e) => e.snapshot.hosts.length === 2, 'the change made while away');
    expect(after.snapshot.hosts.map((h) => h.instanceId)).toEqual(['a', 'b']);
    expect(server.stats().resumed.delta + server.stats().resumed.snapshot).toBe(1);
  });
});

/** A Watch call the test plays the server of. */
class FakeWatchCall extends EventEmitter {
  readonly written = new Subject<WatchRequest>();
  cancelled = 0;
  write(req: WatchRequest): boolean {
    this.written.next(req);
    return true;
  }
  cancel(): void {
    this.cancelled++;
  }
  reply(r: Partial<WatchResponse>): void {
    this.emit('data', { watchId: 0, canceled: false, errorCode: 0, errorMessage: '', ...r });
  }
}

const host = (instanceId: string, port = 80): Instance =>
  Instance.fromPartial({ instanceId, ip: '10.0.0.1', port, weight: 1, healthy: true, enabled: true, ephemeral: true, cluster: 'DEFAULT', status: 1 });

function info(revision: number, hosts: Instance[]): ServiceInfo {
  return ServiceInfo.fromPartial({ namespace: 'public', group: 'DEFAULT_GROUP', name: 'orders', revision, hosts, checksum: checksumOf(hosts) });
}

describe('WatchMux', () => {
  const follow = { namespace: 'public', group: 'DEFAULT_GROUP', service: 'orders', clusters: [], healthyOnly: false };

  it('applies verified deltas; on a checksum mismatch or a gap it watches again from a snapshot, and the follower sees only good states', () => {
    const call = new FakeWatchCall();
    const mux = new WatchMux(() => call as unknown as ClientDuplexStream<WatchRequest, WatchResponse>);
    const requests = record(call.written);
    const states = record(mux.follow(follow));
    expect(requests.values[0]?.add).toMatchObject({ watchId: 1, service: 'orders', resumeRevision: 0 });

    call.reply({ watchId: 1, serviceInfo: info(10, [host('a')]) });
    call.reply({
      watchId: 1,
      delta: { ...info(11, []), fromRevision: 10, upserted: [host('b')], removed: [], checksum: checksumOf([host('a'), host('b')]), clusters: [] },
    });
    expect(states.values.map((s) => s.hosts.map((h) => h.instanceId).join())).toEqual(['a', 'a,b']);

    // A delta whose result does not match its checksum: removed, added again without resuming.
    call.reply({ watchId: 1, delta: { ...info(12, []), fromRevision: 11, upserted: [host('c')], removed: [], checksum: 'wrong', clusters: [] } });
    expect(requests.values.slice(1)).toEqual([{ remove: { watchId: 1 } }, { add: expect.objectContaining({ watchId: 2, resumeRevision: 0, resumeChecksum: '' }) as unknown }]);
    call.reply({ watchId: 2, serviceInfo: info(12, [host('a'), host('b'), host('c')]) });
    // A gap: the delta starts from a revision the follower does not hold.
    call.reply({ watchId: 2, delta: { ...info(14, []), fromRevision: 13, upserted: [], removed: ['a'], checksum: checksumOf([host('b'), host('c')]), clusters: [] } });
    expect(requests.values.at(-1)).toEqual({ add: expect.objectContaining({ watchId: 3, resumeRevision: 0 }) as unknown });
    expect(states.values.map((s) => s.hosts.map((h) => h.instanceId).join())).toEqual(['a', 'a,b', 'a,b,c']);
    expect(mux.stats()).toMatchObject({ open: 1, resyncs: 2 });
  });

  it('resumes a service it followed before from the state it held; a refusal errors the follower with the code', () => {
    const call = new FakeWatchCall();
    const mux = new WatchMux(() => call as unknown as ClientDuplexStream<WatchRequest, WatchResponse>);
    const requests = record(call.written);
    const first = mux.follow(follow).subscribe();
    call.reply({ watchId: 1, serviceInfo: info(10, [host('a')]) });
    first.unsubscribe();
    expect(call.cancelled).toBe(1); // the last watch closed the stream
    const errors: unknown[] = [];
    mux.follow(follow).subscribe({ error: (e: unknown) => errors.push(e) });
    expect(requests.values.at(-1)?.add).toMatchObject({ watchId: 2, resumeRevision: 10, resumeChecksum: checksumOf([host('a')]) });
    call.reply({ watchId: 2, canceled: true, errorCode: 7, errorMessage: 'no read permission' });
    expect(errors).toMatchObject([{ code: 7, details: 'no read permission' }]);
  });
});
