/**
 * A client of this version against a server older than Watch and KeepAlive (they answer
 * UNIMPLEMENTED): it follows services with Subscribe and renews with unary Renew instead, so a
 * rolling upgrade can update clients before servers.
 */
import { Server, ServerCredentials, type ServerWritableStream, type ServerUnaryCall, type sendUnaryData } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { RegistryTransport } from '../../src/client/registry-transport.js';
import { ServiceInfo } from '../../src/gen/herald/v1/model.js';
import { RegistryServiceService, type RenewRequest, type RenewResponse, type SubscribeRequest, type SubscribeResponse } from '../../src/gen/herald/v1/registry_service.js';
import { onCleanup, record } from '../support/server.js';

/** Only Renew and Subscribe, snapshots only (deltas ignored, as a server that does not know the field). */
async function olderServer(): Promise<{ port: number; renewals: string[] }> {
  const renewals: string[] = [];
  const server = new Server();
  server.addService(RegistryServiceService, {
    renew: (call: ServerUnaryCall<RenewRequest, RenewResponse>, callback: sendUnaryData<RenewResponse>) => {
      renewals.push(call.request.instanceId);
      callback(null, { leaseExpiresAt: 123, renewalIntervalMs: 30_000 });
    },
    subscribe: (call: ServerWritableStream<SubscribeRequest, SubscribeResponse>) => {
      call.write({ serviceInfo: ServiceInfo.fromPartial({ name: call.request.service, revision: 7, checksum: 'd41d8cd98f00b204e9800998ecf8427e' }) });
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => {
      if (e) reject(e);
      else resolve(p);
    });
  });
  onCleanup(() => {
    server.forceShutdown();
  });
  return { port, renewals };
}

describe('a client against a server without Watch and KeepAlive', () => {
  it('renews with unary Renew and follows with Subscribe, from the first UNIMPLEMENTED on', async () => {
    const { port, renewals } = await olderServer();
    const t = new RegistryTransport(`127.0.0.1:${port}`);
    onCleanup(() => {
      t.close();
    });
    const call = { namespace: '', group: '', service: 'orders', instanceId: 'a', lastDirtyTimestamp: 0 };
    expect(await t.keepAlive(call)).toEqual({ leaseExpiresAt: 123, renewalIntervalMs: 30_000 });
    expect(await t.keepAlive({ ...call, instanceId: 'b' })).toEqual({ leaseExpiresAt: 123, renewalIntervalMs: 30_000 });
    expect(renewals).toEqual(['a', 'b']);
    const states = record(t.follow({ namespace: '', group: '', service: 'orders', clusters: [], healthyOnly: false }));
    expect(await states.until(() => true, 'the snapshot')).toMatchObject({ name: 'orders', revision: 7 });
  });
});
