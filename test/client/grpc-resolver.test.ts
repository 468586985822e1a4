/**
 * The SDK's `herald:///` resolver in a grpc-js client: the weighted fleet scenario on `herald serve`
 * (proportions by weight, cancel, registration, OUT_OF_SERVICE and back) for a short and a fully
 * qualified name, and its edges: invalid names, herald down then back, weight 0, no instances, and
 * channels sharing one watch that ends when they close.
 */
import { describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { Client, credentials, status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { registerHeraldResolver } from '../../src/client/index.js';
import { InstanceStatus } from '../../src/gen/herald/v1/model.js';
import { CancelRequest, RegisterRequest, SetStatusRequest, UpdateServiceRequest } from '../../src/gen/herald/v1/registry_service.js';
import { serve } from '../support/cli.js';
import { connect, eventually, onCleanup, startServer, within } from '../support/server.js';
import { echoServer, ECHO_PATH, weightedFleetScenario, type CallBatch } from '../support/weighted-fleet.js';
import { startTcpProxy } from './tcp-proxy.js';

const identity = (b: Buffer): Buffer => b;

/** One call: the answering server's name, or `error <code>: <details>`. */
function call(client: Client): Promise<string> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(ECHO_PATH, identity, identity, Buffer.alloc(0), { deadline: Date.now() + 5_000 }, (err: ServiceError | null, reply?: Buffer) => {
      resolve(err === null && reply !== undefined ? reply.toString() : `error ${err?.code ?? ''}: ${err?.details ?? 'no reply'}`);
    });
  });
}

/** `n` calls, at most 20 in flight. */
function batchesOf(client: Client): CallBatch {
  return async (n) => {
    const replies: string[] = [];
    for (let i = 0; i < n; i += 20) replies.push(...(await Promise.all(Array.from({ length: Math.min(20, n - i) }, () => call(client)))));
    return replies;
  };
}

/** Calls until a reply satisfies `check`; resolves with it. */
async function untilReply(client: Client, what: string, check: (reply: string) => boolean): Promise<string> {
  let last = '(none)';
  const loop = async (): Promise<string> => {
    for (;;) {
      last = await call(client);
      if (check(last)) return last;
    }
  };
  return within(loop(), what, () => `last reply: ${last}`);
}

function channel(target: string): Client {
  const client = new Client(target, credentials.createInsecure());
  onCleanup(() => {
    client.close();
  });
  return client;
}

const unavailable = `error ${GrpcStatus.UNAVAILABLE}: `;

describe('the herald:/// resolver against herald serve', () => {
  it('load-balances herald:/// names by weight and follows cancels, registrations and OUT_OF_SERVICE, in the default and a named namespace', async () => {
    const herald = await serve(['--data-dir', 'none']);
    registerHeraldResolver({ servers: [`127.0.0.1:${herald.port}`] });
    const transport = connect(herald.port);

    const report = await weightedFleetScenario({ transport, service: 'orders', calls: batchesOf(channel('herald:///orders')) });
    console.log(`herald resolver, herald:///orders: ${JSON.stringify(report)}`);

    const qualified = channel('herald:///team-a@@payments@@ledger');
    const report2 = await weightedFleetScenario({ transport, namespace: 'team-a', group: 'payments', service: 'ledger', calls: batchesOf(qualified) });
    console.log(`herald resolver, herald:///team-a@@payments@@ledger: ${JSON.stringify(report2)}`);
  }, 60_000);
});

describe('the herald:/// resolver', () => {
  it('fails calls on a name that is not a herald name, naming the target', async () => {
    const herald = await startServer();
    registerHeraldResolver({ servers: [`127.0.0.1:${herald.port}`] });
    for (const target of ['herald:///orders/v1', 'herald:///a@@b@@c@@d', 'herald:///bad@@', 'herald:///not a name']) {
      const reply = await call(channel(target));
      expect(reply).toContain(unavailable);
      expect(reply).toContain(`${target}: `);
      expect(reply).toContain('is not a herald service name');
    }
  });

  it('fails calls while herald cannot be reached, naming it, and recovers when it comes back; the last list stands through a later outage', async () => {
    const herald = await startServer();
    const proxy = await startTcpProxy(herald.port);
    proxy.down();
    const a = await echoServer('a');
    await connect(herald).register(RegisterRequest.fromPartial({ service: 'orders', instance: { instanceId: 'a', ip: '127.0.0.1', port: a.port, weight: 1 } }));
    registerHeraldResolver({ servers: [`127.0.0.1:${proxy.port}`], resubscribeBackoffMaxMs: 200 });
    const client = channel('herald:///orders');

    const down = await untilReply(client, 'a call failing because herald is down', (r) => r.startsWith('error'));
    expect(down).toContain(unavailable);
    expect(down).toContain('herald:///orders: cannot reach herald');
    expect(down).toContain(`127.0.0.1:${proxy.port}`);

    proxy.up();
    await untilReply(client, 'calls reaching a once herald is back', (r) => r === 'a');

    proxy.down();
    expect(await batchesOf(client)(40)).toEqual(Array.from({ length: 40 }, () => 'a'));
  });

  it('sends no call to an instance of weight 0, and fails calls naming the service when no instance can take them', async () => {
    const herald = await startServer();
    const transport = connect(herald);
    // The target names herald itself, and the application's grpc module is passed explicitly.
    registerHeraldResolver({ grpc });
    const client = channel(`herald://127.0.0.1:${herald.port}/shop@@cart`);
    const [a, b] = await Promise.all([echoServer('a'), echoServer('b')]);
    const register = (name: string, port: number, weight: number) =>
      transport.register(RegisterRequest.fromPartial({ group: 'shop', service: 'cart', instance: { instanceId: name, ip: '127.0.0.1', port, weight } }));

    const none = await untilReply(client, 'a call failing while cart has no instance', (r) => r.startsWith('error'));
    expect(none).toContain(unavailable);
    expect(none).toContain('(service cart, group shop, namespace public): no instance can take calls');

    await register('b', b.port, 0);
    await register('a', a.port, 1);
    await untilReply(client, 'calls reaching a', (r) => r === 'a');
    expect(new Set(await batchesOf(client)(200))).toEqual(new Set(['a']));

    // Its last instance cancelled, the service fails calls again (no empty-push protection here).
    await transport.cancel(CancelRequest.fromPartial({ group: 'shop', service: 'cart', instanceId: 'a' }));
    const gone = await untilReply(client, 'a call failing once a is cancelled', (r) => r.startsWith('error'));
    expect(gone).toContain('herald://127.0.0.1');
    expect(gone).toContain('/shop@@cart (service cart, group shop, namespace public): no instance can take calls');
  });

  it("follows the service's protect threshold: below it, instances out of traffic take calls again; weight 0 still takes none", async () => {
    const herald = await startServer();
    const transport = connect(herald);
    registerHeraldResolver({ servers: [`127.0.0.1:${herald.port}`] });
    const servers = await Promise.all(['a', 'b', 'c'].map((n) => echoServer(n)));
    for (const [i, s] of servers.entries()) {
      await transport.register(RegisterRequest.fromPartial({ service: 'orders', instance: { instanceId: s.name, ip: '127.0.0.1', port: s.port, weight: i === 2 ? 0 : 1 } }));
    }
    const client = channel('herald:///orders');
    const batch = batchesOf(client);
    const until = (what: string, check: (r: readonly string[]) => boolean) => {
      let last: string[] = [];
      const loop = async (): Promise<void> => {
        while (!check((last = await batch(60))));
      };
      return within(loop(), what, () => `last replies: ${[...new Set(last)].join(', ')}`);
    };
    await until('calls reaching a and b', (r) => r.includes('a') && r.includes('b'));

    await transport.setStatus(SetStatusRequest.fromPartial({ service: 'orders', instanceId: 'b', status: InstanceStatus.INSTANCE_STATUS_OUT_OF_SERVICE }));
    await until('calls reaching a only, b set OUT_OF_SERVICE', (r) => r.every((x) => x === 'a'));

    // One usable instance of three is under 0.6: every instance is offered, as the server offers them.
    await transport.updateService(UpdateServiceRequest.fromPartial({ service: 'orders', protectThreshold: 0.6 }));
    await until('calls reaching b again under the protect threshold', (r) => r.includes('b') && r.every((x) => x === 'a' || x === 'b'));
    expect(new Set(await batch(200))).toEqual(new Set(['a', 'b']));
  });

  it('leaves channels created before a second registration working', async () => {
    const herald = await startServer();
    const transport = connect(herald);
    registerHeraldResolver({ servers: [`127.0.0.1:${herald.port}`] });
    const [a, b] = await Promise.all([echoServer('a'), echoServer('b')]);
    const register = (name: string, port: number) =>
      transport.register(RegisterRequest.fromPartial({ service: 'orders', instance: { instanceId: name, ip: '127.0.0.1', port, weight: 1 } }));
    await register('a', a.port);
    const before = channel('herald:///orders');
    await untilReply(before, 'calls reaching a', (r) => r === 'a');

    registerHeraldResolver({ servers: [`127.0.0.1:${herald.port}`], callTimeoutMs: 2_000 });
    await register('b', b.port);
    await untilReply(before, 'calls through the earlier channel reaching the new b', (r) => r === 'b');
    await untilReply(channel('herald:///orders'), 'calls through a new channel reaching b', (r) => r === 'b');
  });

  it('shares one watch among channels to the same service, and ends it when the last channel closes', async () => {
    const herald = await startServer();
    const resolver = registerHeraldResolver({ servers: [`127.0.0.1:${herald.port}`] });
    const transport = connect(herald);
    const a = await echoServer('a');
    for (const service of ['orders', 'billing']) {
      await transport.register(RegisterRequest.fromPartial({ service, instance: { instanceId: 'a', ip: '127.0.0.1', port: a.port, weight: 1 } }));
    }
    const channels = [channel('herald:///orders'), channel('herald:///orders'), channel('herald:///billing')];
    for (const c of channels) expect(await call(c)).toBe('a');

    expect(resolver.stats()).toEqual({ clients: 1, services: 2 });
    expect(herald.stats().subscribers).toBe(2);

    for (const c of channels) c.close();
    expect(resolver.stats()).toEqual({ clients: 0, services: 0 });
    await eventually(() => herald.stats().subscribers === 0 && herald.stats().streams === 0, 'herald to see the watches and their stream end');
  });
});
