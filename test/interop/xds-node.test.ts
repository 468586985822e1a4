/**
 * A real xDS client against herald's ADS service (groundwork for issue #17): grpc-js with
 * @grpc/grpc-js-xds registered, bootstrapped from a file naming herald's gRPC port, dials
 * `xds:///orders` and reaches the echo servers registered in herald as service `orders`; a
 * registration and a cancel are pushed (EDS re-sent) and calls follow them.
 *
 * grpc-js-xds reads its bootstrap once per process, so only one test in this file may use it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Client, credentials, Metadata, Server, ServerCredentials, status as GrpcStatus, type ServiceDefinition, type ServiceError } from '@grpc/grpc-js';
import { register as registerXdsResolver } from '@grpc/grpc-js-xds';
import { AggregatedDiscoveryServiceClient } from '../../src/gen/xds/envoy/service/discovery/v3/ads.js';
import type { DiscoveryResponse } from '../../src/gen/xds/envoy/service/discovery/v3/discovery.js';
import { TYPE_URL } from '../../src/server/xds/xds-codec.js';
import { authFixture } from '../support/auth-fixture.js';
import { eventually, onCleanup, recordingLogger, startServer, within } from '../support/server.js';

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
    const log = recordingLogger();
    const herald = await startServer({}, { logger: log.logger });

    const dir = mkdtempSync(join(tmpdir(), 'herald-xds-'));
    onCleanup(() => {
      rmSync(dir, { recursive: true, force: true });
    });
    const bootstrap = join(dir, 'bootstrap.json');
    writeFileSync(
      bootstrap,
      JSON.stringify({
        xds_servers: [{ server_uri: `127.0.0.1:${herald.port}`, channel_creds: [{ type: 'insecure' }], server_features: [] }],
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
    expect(log.lines.values.filter((l) => l.message.includes('NACK'))).toEqual([]);
  });
});

/** Opens an ADS stream asking for cluster `orders`; resolves with the first response or the stream's error. */
function firstAdsAnswer(port: number, token?: string): Promise<DiscoveryResponse | ServiceError> {
  const client = new AggregatedDiscoveryServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
  onCleanup(() => {
    client.close();
  });
  const md = new Metadata();
  if (token !== undefined) md.set('authorization', `Bearer ${token}`);
  const call = client.streamAggregatedResources(md);
  onCleanup(() => {
    call.cancel();
  });
  const answer = new Promise<DiscoveryResponse | ServiceError>((resolve) => {
    call.on('data', resolve);
    call.on('error', resolve);
  });
  call.write({ versionInfo: '', resourceNames: ['orders'], resourceLocators: [], typeUrl: TYPE_URL.cluster, responseNonce: '' });
  return within(answer, 'the first ADS answer');
}

describe('ADS with authentication on', () => {
  it('refuses a stream without credentials or with wrong ones, and one whose caller may not read the namespace; serves a reader', async () => {
    const auth = await authFixture([
      { name: 'reader', roles: [{ namespace: 'public', permission: 'read' }] },
      { name: 'other', roles: [{ namespace: 'elsewhere', permission: 'read' }] },
    ]);
    const herald = await startServer({ authFile: auth.path });
    expect(await firstAdsAnswer(herald.port)).toMatchObject({ code: GrpcStatus.UNAUTHENTICATED });
    expect(await firstAdsAnswer(herald.port, 'not-a-token')).toMatchObject({ code: GrpcStatus.UNAUTHENTICATED });
    expect(await firstAdsAnswer(herald.port, auth.tokens.other)).toMatchObject({ code: GrpcStatus.PERMISSION_DENIED });
    expect(await firstAdsAnswer(herald.port, auth.tokens.reader)).toMatchObject({ typeUrl: TYPE_URL.cluster, resources: [{ typeUrl: TYPE_URL.cluster }] });
  });
});
