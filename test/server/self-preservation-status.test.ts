/**
 * Self-preservation and the last eviction run, seen the way an operator sees them: the shipped
 * server (`herald serve`), `herald status`, ClusterService/GetNodeStatus and the log, which says
 * each change once, with each key once per line.
 */
import { describe, expect, it } from 'vitest';
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { RegisterRequest } from '../../src/gen/herald/v1/registry_service.js';
import { ClusterServiceClient, EvictionOutcome, type GetNodeStatusResponse } from '../../src/gen/herald/v1/peer_service.js';
import { heraldOnce, serve } from '../support/cli.js';
import { connect, eventually, onCleanup } from '../support/server.js';

function nodeStatus(port: number): Promise<GetNodeStatusResponse> {
  const client = new ClusterServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
  onCleanup(() => {
    client.close();
  });
  return new Promise((resolve, reject) => {
    client.getNodeStatus({}, new Metadata(), (e: ServiceError | null, r: GetNodeStatusResponse) => {
      if (e) reject(e);
      else resolve(r);
    });
  });
}

/** Keys of one JSON log line as written (JSON.parse would hide a duplicate). */
function keysOf(line: string): string[] {
  return [...line.matchAll(/"([A-Za-z_]+)":/g)].map((m) => m[1] ?? '');
}

describe('self-preservation status', () => {
  it('engages when renewals stop, says so once in the log, and shows it in herald status and GetNodeStatus', async () => {
    const node = await serve(['--eviction-interval-ms', '200', '--heartbeat-check-interval-ms', '100', '--node-id', 'n1']);
    const t = connect(node.port);
    // Twelve instances (over the minimum of 10) that never renew: expected renewals, none received.
    for (let i = 0; i < 12; i++) {
      await t.register(RegisterRequest.fromPartial({ service: 'orders', instance: { instanceId: `i-${i}`, ip: '10.0.0.1', port: 8000 + i, lease: { durationMs: 1_000, renewalIntervalMs: 250 } } }));
    }
    await node.line(/self-preservation engaged/, 'stderr');
    // Several eviction and beat-check runs later, it is still logged once. (The server is another
    // process, with its own clock: its status is polled.)
    await eventually(async () => {
      const e = (await nodeStatus(node.port)).lastEviction;
      return e?.outcome === EvictionOutcome.EVICTION_OUTCOME_SELF_PRESERVATION && e.expired === 12;
    }, 'a run that kept all twelve expired instances');
    const s = await nodeStatus(node.port);
    expect(s).toMatchObject({ nodeId: 'n1', instances: 12, selfPreservation: { enabled: true, active: true, leaseBoundInstances: 12, minInstances: 10, renewsLastMinute: 0, renewsThreshold: 2448 } });
    expect(s.selfPreservation?.expectedRenewsPerMinute).toBe(12 * 240);
    expect(s.lastEviction?.expired).toBe(12);
    expect(s.lastEviction?.reason).toBe('0 renewals in the last minute, not above the threshold of 2448; 12 expired kept');
    expect(node.stderr.filter((l) => l.includes('self-preservation engaged'))).toHaveLength(1);
    for (const line of node.stderr) expect(new Set(keysOf(line)).size, line).toBe(keysOf(line).length);

    const text = await heraldOnce(['status', '--server', `127.0.0.1:${node.port}`]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('self-preservation: ACTIVE: eviction suspended');
    expect(text.stdout).toContain('renewals in the last minute: 0 (threshold');
    expect(text.stdout).toMatch(/last eviction run: \S+ {2}self-preservation: 0 renewals/);
    const json = await heraldOnce(['status', '--json', '--server', `127.0.0.1:${node.port}`]);
    expect(JSON.parse(json.stdout)).toMatchObject({ nodeId: 'n1', selfPreservation: { active: true } });
  });

  it('says why a run evicted nothing when nothing expired, and herald status fails plainly on an unreachable server', async () => {
    const node = await serve(['--eviction-interval-ms', '100']);
    // The server is another process: its status is polled.
    await eventually(async () => (await nodeStatus(node.port)).lastEviction?.outcome === EvictionOutcome.EVICTION_OUTCOME_NOTHING_EXPIRED, 'a run');
    expect((await nodeStatus(node.port)).selfPreservation).toMatchObject({ active: false, leaseBoundInstances: 0 });
    const down = await heraldOnce(['status', '--server', '127.0.0.1:1']);
    expect(down.code).toBe(3); // no server could be reached (src/cli/exit-codes.ts)
    expect(down.stderr).toBe('herald: cannot reach 127.0.0.1:1 (connection refused)');
  });
});
