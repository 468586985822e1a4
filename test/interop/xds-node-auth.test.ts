/**
 * grpc-js + @grpc/grpc-js-xds against a `herald serve` with authentication on: the xDS bootstrap has
 * no place for call credentials, so the reader's token travels in the node metadata
 * (`"node": {"metadata": {"authorization": "Bearer …"}}`), and the client load-balances as it does
 * without auth. (grpc-js-xds reads one bootstrap per process: this file holds this one test.)
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Client, credentials } from '@grpc/grpc-js';
import { register as registerXdsResolver } from '@grpc/grpc-js-xds';
import { RegistryTransport } from '../../src/client/registry-transport.js';
import { authFixture } from '../support/auth-fixture.js';
import { serve } from '../support/cli.js';
import { onCleanup } from '../support/server.js';
import { grpcJsCalls, readmeXdsBootstrap, weightedFleetScenario } from '../support/weighted-fleet.js';

describe('a grpc-js xDS client of a herald with authentication on', () => {
  it('is served with a reader token in its bootstrap node metadata', async () => {
    const auth = await authFixture([
      { name: 'writer', roles: [{ namespace: 'public', permission: 'write' }] },
      { name: 'reader', roles: [{ namespace: 'public', permission: 'read' }] },
    ]);
    const herald = await serve(['--data-dir', 'none', '--auth-file', auth.path]);
    const dir = mkdtempSync(join(tmpdir(), 'herald-xds-auth-'));
    onCleanup(() => {
      rmSync(dir, { recursive: true, force: true });
    });
    const bootstrap = join(dir, 'bootstrap.json');
    writeFileSync(bootstrap, readmeXdsBootstrap(herald.port, { authorization: `Bearer ${auth.tokens.reader ?? ''}` }));
    process.env.GRPC_XDS_BOOTSTRAP = bootstrap;
    registerXdsResolver();
    const transport = new RegistryTransport(`127.0.0.1:${herald.port}`, { security: { token: auth.tokens.writer ?? '' } });
    const client = new Client('xds:///orders', credentials.createInsecure());
    onCleanup(() => {
      client.close();
      transport.close();
    });
    const report = await weightedFleetScenario({ transport, service: 'orders', calls: grpcJsCalls(client) });
    console.log(`grpc-js-xds with a token, xds:///orders: ${JSON.stringify(report)}`);
    expect(herald.stderr.filter((l) => /NACK|refused/.test(l))).toEqual([]);
  }, 60_000);
});
