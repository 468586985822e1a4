/**
 * A real xDS client against herald's ADS service: grpc-js with @grpc/grpc-js-xds registered,
 * bootstrapped from a file naming the gRPC port of a `herald serve` process, dials
 * `xds:///<service>` and load-balances over echo servers registered in herald (the weighted fleet
 * scenario: proportions, cancel, registration, OUT_OF_SERVICE and back), with no NACK.
 *
 * grpc-js-xds reads its bootstrap once per process, so only one bootstrap (one herald) per file.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Client, credentials } from '@grpc/grpc-js';
import { register as registerXdsResolver } from '@grpc/grpc-js-xds';
import { serve } from '../support/cli.js';
import { connect, onCleanup } from '../support/server.js';
import { grpcJsCalls, readmeXdsBootstrap, weightedFleetScenario } from '../support/weighted-fleet.js';

describe('a grpc-js client with @grpc/grpc-js-xds against herald serve', () => {
  it('load-balances xds:/// names by weight and follows cancels, registrations and OUT_OF_SERVICE, in the default and a named namespace', async () => {
    const herald = await serve(['--data-dir', 'none']);
    const dir = mkdtempSync(join(tmpdir(), 'herald-xds-'));
    onCleanup(() => {
      rmSync(dir, { recursive: true, force: true });
    });
    const bootstrap = join(dir, 'bootstrap.json');
    writeFileSync(bootstrap, readmeXdsBootstrap(herald.port));
    process.env.GRPC_XDS_BOOTSTRAP = bootstrap;
    registerXdsResolver();
    const transport = connect(herald.port);

    const client = new Client('xds:///orders', credentials.createInsecure());
    onCleanup(() => {
      client.close();
    });
    const report = await weightedFleetScenario({ transport, service: 'orders', calls: grpcJsCalls(client) });
    console.log(`grpc-js-xds, xds:///orders: ${JSON.stringify(report)}`);

    // The fully qualified form: namespace@@group@@service.
    const qualified = new Client('xds:///team-a@@payments@@ledger', credentials.createInsecure());
    onCleanup(() => {
      qualified.close();
    });
    const report2 = await weightedFleetScenario({ transport, namespace: 'team-a', group: 'payments', service: 'ledger', calls: grpcJsCalls(qualified) });
    console.log(`grpc-js-xds, xds:///team-a@@payments@@ledger: ${JSON.stringify(report2)}`);

    // The client accepted every listener, cluster and assignment it was sent.
    expect(herald.stderr.filter((l) => l.includes('NACK'))).toEqual([]);
  }, 60_000);
});
