/**
 * A real xDS client against herald's ADS service (groundwork for issue #17): grpc-js with
 * @grpc/grpc-js-xds registered, bootstrapped from a file naming herald's ADS port, dials
 * `xds:///orders` and reaches the echo servers registered in herald as service `orders`; a
 * registration and a cancel are pushed (EDS re-sent) and calls follow them.
 *
 * grpc-js-xds reads its bootstrap once per process, so this file holds one ADS server for all its tests.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Client, credentials, Server, ServerCredentials, type ServiceDefinition, type ServiceError } from '@grpc/grpc-js';
import { register as registerXdsResolver } from '@grpc/grpc-js-xds';
import { silentLogger } from '../../src/common/logger.js';
import { adsDefinition, adsHandlers } from '../../src/server/xds/ads-service.js';
import { eventually, onCleanup, startServer } from '../support/server.js';

const ECHO_PATH = '/herald.test.Echo/Echo';
const identity = (b: Buffer): Buffer => b;
const ECHO: ServiceDefinition = {
  Echo: { path: ECHO_PATH, requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity },
};

async function bind(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, port) => {
      if (err === null) resolve(port);
      else reject(err);
    });
  });
}

/** An echo server answering its own name; stopped after the test. */
async function echoServer(name: string): Promise<{ port: number; stop: () => void }> {
  const server = new Server();
  server.addService(ECHO, {
    Echo: (_call: unknown, callback: (err: null, reply: Buffer) => void) => {
      callback(null, Buffer.from(name));
    },
  });
  const port = await bind(server);
  const stop = (): void => {
    server.forceShutdown();
  };
  onCleanup(stop);
  return { port, stop };
}

function call(client: Client): Promise<string> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(ECHO_PATH, identity, identity, Buffer.alloc(0), { deadline: Date.now() + 2_000 }, (err: ServiceError | null, reply?: Buffer) => {
      if (err === null && reply !== undefined) resolve(reply.toString());
      else reject(err ?? new Error('no reply'));
    });
  });
}

/** Calls until `check` holds for the set of servers the last `n` calls reached. */
async function until(client: Client, check: (reached: ReadonlySet<string>) => boolean, what: string, n = 20): Promise<ReadonlySet<string>> {
  let reached = new Set<string>();
  await eventually(async () => {
    reached = new Set<string>();
    for (let i = 0; i < n; i++) {
      try {
        reached.add(await call(client));
      } catch {
        reached.add('(error)');
      }
    }
    return check(reached);
  }, `${what}; last calls reached ${[...reached].join(', ')}`);
  return reached;
}

describe('a grpc-js client with @grpc/grpc-js-xds against herald ADS', () => {
  it('dials xds:///orders, reaches the registered echo server, and follows a registration and a cancel', async () => {
    const herald = await startServer();
    const ads = new Server();
    const nacks: string[] = [];
    ads.addService(adsDefinition(), adsHandlers({ hub: herald.hub, logger: silentLogger, onNack: (typeUrl) => nacks.push(typeUrl) }));
    const adsPort = await bind(ads);
    onCleanup(() => {
      ads.forceShutdown();
    });

    const dir = mkdtempSync(join(tmpdir(), 'herald-xds-'));
    onCleanup(() => {
      rmSync(dir, { recursive: true, force: true });
    });
    const bootstrap = join(dir, 'bootstrap.json');
    writeFileSync(
      bootstrap,
      JSON.stringify({
        xds_servers: [{ server_uri: `127.0.0.1:${adsPort}`, channel_creds: [{ type: 'insecure' }], server_features: [] }],
        node: { id: 'herald-xds-node-test', locality: {} },
      }),
    );
    process.env.GRPC_XDS_BOOTSTRAP = bootstrap;
    registerXdsResolver();

    const a = await echoServer('a');
    herald.registry.register({ service: 'orders', instance: { instanceId: 'a', ip: '127.0.0.1', port: a.port } });

    const client = new Client('xds:///orders', credentials.createInsecure());
    onCleanup(() => {
      client.close();
    });
    expect(await call(client)).toBe('a');

    // A registration is pushed: calls spread over both.
    const b = await echoServer('b');
    herald.registry.register({ service: 'orders', instance: { instanceId: 'b', ip: '127.0.0.1', port: b.port } });
    await until(client, (r) => r.has('a') && r.has('b') && !r.has('(error)'), 'calls reaching a and b');

    // A cancel is pushed: calls stop reaching it.
    herald.registry.cancel({ service: 'orders', instanceId: 'a' });
    await until(client, (r) => r.size === 1 && r.has('b'), 'calls reaching only b');
    // The client accepted every listener, cluster and assignment it was sent.
    expect(nacks).toEqual([]);
  });
});
