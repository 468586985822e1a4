/**
 * Debian's python3-grpcio (C-core's xDS resolver and load balancing) against herald's ADS on its
 * gRPC port: GRPC_XDS_BOOTSTRAP names a file the test writes, the script dials `xds:///orders` and
 * its calls reach the echo server registered in herald (groundwork for issue #17).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Server, ServerCredentials, type ServiceDefinition } from '@grpc/grpc-js';
import { onCleanup, startServer } from '../support/server.js';
import { pythonGrpcMissing, runPython } from './python.js';

const ECHO_PATH = '/herald.test.Echo/Echo';
const identity = (b: Buffer): Buffer => b;
const ECHO: ServiceDefinition = {
  Echo: { path: ECHO_PATH, requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity },
};

const missing = pythonGrpcMissing();

describe.skipIf(missing !== undefined)(`python3-grpcio dialing xds:/// ${missing ?? ''}`, () => {
  it('reaches the echo server registered in herald as service orders', async () => {
    const herald = await startServer();
    const echo = new Server();
    echo.addService(ECHO, {
      Echo: (_call: unknown, callback: (err: null, reply: Buffer) => void) => {
        callback(null, Buffer.from('a'));
      },
    });
    const port = await new Promise<number>((resolve, reject) => {
      echo.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => {
        if (err === null) resolve(p);
        else reject(err);
      });
    });
    onCleanup(() => {
      echo.forceShutdown();
    });
    herald.registry.register({ service: 'orders', instance: { instanceId: 'a', ip: '127.0.0.1', port } });

    const dir = mkdtempSync(join(tmpdir(), 'herald-xds-py-'));
    onCleanup(() => {
      rmSync(dir, { recursive: true, force: true });
    });
    const bootstrap = join(dir, 'bootstrap.json');
    writeFileSync(
      bootstrap,
      JSON.stringify({
        xds_servers: [{ server_uri: `127.0.0.1:${herald.port}`, channel_creds: [{ type: 'insecure' }], server_features: [] }],
        node: { id: 'herald-xds-python-test', locality: {} },
      }),
    );
    const out = await runPython<{ replies: string[] }>('xds_client.py', ['orders', ECHO_PATH, '5'], { GRPC_XDS_BOOTSTRAP: bootstrap });
    expect(out.replies).toEqual(['a', 'a', 'a', 'a', 'a']);
  });
});
