/**
 * Debian's python3-grpcio (C-core's xDS resolver and load balancing) against the ADS service of a
 * `herald serve` process: GRPC_XDS_BOOTSTRAP names a file the test writes, and a Python agent
 * (xds_client.py) dials `xds:///<service>` and makes the calls the weighted fleet scenario asks
 * for: proportions by weight, cancel, registration, OUT_OF_SERVICE and back. The bootstrap is the
 * one README shows, with the test's port. In a cluster, a client of one node follows writes made on
 * another. A client whose herald is killed keeps calling the instances it knows. With
 * authentication on,
 * its token travels in the bootstrap's node metadata, the one place a C-core xDS client can put it.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { RegistryTransport } from '../../src/client/registry-transport.js';
import { RegisterRequest } from '../../src/gen/herald/v1/registry_service.js';
import { authFixture } from '../support/auth-fixture.js';
import { FaultCluster } from '../support/fault-cluster.js';
import { heraldOnce, serve } from '../support/cli.js';
import { connect, eventually, onCleanup } from '../support/server.js';
import { ECHO_PATH, echoServer, readmeXdsBootstrap, weightedFleetScenario, type CallBatch } from '../support/weighted-fleet.js';
import { PYTHON, pythonGrpcMissing } from './python.js';

const missing = pythonGrpcMissing();
const here = dirname(fileURLToPath(import.meta.url));

/** Starts the Python agent with `bootstrap` (default: README's, naming herald's `port`); `calls(target)` drives it. */
function pythonAgent(port: number, bootstrap = readmeXdsBootstrap(port)): (target: string) => CallBatch {
  const dir = mkdtempSync(join(tmpdir(), 'herald-xds-py-'));
  onCleanup(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const file = join(dir, 'bootstrap.json');
  writeFileSync(file, bootstrap);
  const proc = spawn(PYTHON, [join(here, 'xds_client.py')], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, GRPC_XDS_BOOTSTRAP: file } });
  onCleanup(() => {
    proc.kill('SIGKILL');
  });
  const stderr: string[] = [];
  proc.stderr.on('data', (d: Buffer) => stderr.push(d.toString()));
  const lines = createInterface({ input: proc.stdout })[Symbol.asyncIterator]();
  return (target) => async (n) => {
    proc.stdin.write(`${JSON.stringify({ target, path: ECHO_PATH, calls: n })}\n`);
    const line = await lines.next();
    if (line.done === true) throw new Error(`xds_client.py exited: ${stderr.join('')}`);
    return (JSON.parse(line.value) as { replies: string[] }).replies;
  };
}

describe.skipIf(missing !== undefined)(`python3-grpcio dialing xds:/// ${missing ?? ''}`, () => {
  it('load-balances by weight and follows cancels, registrations and OUT_OF_SERVICE, in the default and a named namespace', async () => {
    const herald = await serve(['--data-dir', 'none']);
    const transport = connect(herald.port);
    const agent = pythonAgent(herald.port);
    const report = await weightedFleetScenario({ transport, service: 'orders', calls: agent('xds:///orders') });
    console.log(`python3-grpcio, xds:///orders: ${JSON.stringify(report)}`);
    const report2 = await weightedFleetScenario({ transport, namespace: 'team-a', group: 'payments', service: 'ledger', calls: agent('xds:///team-a@@payments@@ledger') });
    console.log(`python3-grpcio, xds:///team-a@@payments@@ledger: ${JSON.stringify(report2)}`);
    expect(herald.stderr.filter((l) => l.includes('NACK'))).toEqual([]);
  }, 60_000);

  it('with authentication on, is served with the bootstrap `herald xds bootstrap --token` prints (the token in its node metadata), and refused with none', async () => {
    const auth = await authFixture([
      { name: 'writer', roles: [{ namespace: 'public', permission: 'write' }] },
      { name: 'reader', roles: [{ namespace: 'public', permission: 'read' }] },
    ]);
    const herald = await serve(['--data-dir', 'none', '--auth-file', auth.path]);
    const transport = new RegistryTransport(`127.0.0.1:${herald.port}`, { security: { token: auth.tokens.writer ?? '' } });
    onCleanup(() => {
      transport.close();
    });
    const anonymous = pythonAgent(herald.port)('xds:///orders');
    const refused = await anonymous(1);
    expect(refused[0]).toMatch(/^error UNAVAILABLE/);
    const bootstrap = await heraldOnce(['xds', 'bootstrap', '--server', `127.0.0.1:${herald.port}`, '--node-id', 'py-agent', '--token', auth.tokens.reader ?? '']);
    expect(bootstrap.code).toBe(0);
    const report = await weightedFleetScenario({
      transport,
      service: 'orders',
      calls: pythonAgent(herald.port, bootstrap.stdout)('xds:///orders'),
    });
    console.log(`python3-grpcio with a token, xds:///orders: ${JSON.stringify(report)}`);
  }, 60_000);

  it('in a cluster: a client bootstrapped to node A follows writes made on node B, replicated and pushed', async () => {
    const cluster = await FaultCluster.start({ names: ['A', 'B'] });
    onCleanup(() => cluster.close());
    const report = await weightedFleetScenario({ transport: connect(cluster.node('B').port), service: 'orders', calls: pythonAgent(cluster.node('A').port)('xds:///orders') });
    console.log(`python3-grpcio on node A, writes on node B: ${JSON.stringify(report)}`);
  }, 60_000);

  it('keeps calling the instances it knows when herald is killed: a dead registry is no outage', async () => {
    const herald = await serve(['--data-dir', 'none']);
    const transport = connect(herald.port);
    const servers = await Promise.all(['a', 'b'].map((n) => echoServer(n)));
    for (const e of servers) await transport.register(RegisterRequest.fromPartial({ service: 'orders', instance: { instanceId: e.name, ip: '127.0.0.1', port: e.port } }));
    const calls = pythonAgent(herald.port)('xds:///orders');
    await eventually(async () => new Set(await calls(20)).size === 2, 'calls reaching a and b');
    herald.proc.kill('SIGKILL');
    await herald.exited;
    const after = await calls(40);
    expect(new Set(after)).toEqual(new Set(['a', 'b']));
  }, 60_000);
});
