/**
 * Eviction as `herald serve` ships it: the real process with its real defaults (the CSPRNG that
 * picks victims, the system clock, node timers), only the intervals shortened by flags. Clients are
 * separate processes killed with SIGKILL, as crashed applications are.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { SubscribeRequest } from '../../src/gen/herald/v1/registry_service.js';
import { serve } from '../support/cli.js';
import { connect, onCleanup, record, within } from '../support/server.js';

/** Starts an SDK client process that registers one instance (port `port`) and resolves once it is registered. */
async function clientProcess(server: string, service: string, port: number): Promise<{ kill: () => void }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/client-process.ts', server, service, '2000', '500', String(port)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  onCleanup(() => child.kill('SIGKILL'));
  const lines = createInterface({ input: child.stdout });
  await new Promise<void>((resolve, reject) => {
    lines.on('line', (l) => {
      if (l.startsWith('registered ')) resolve();
    });
    child.on('exit', (code) => {
      reject(new Error(`client process exited (${code}) before registering`));
    });
  });
  return { kill: () => child.kill('SIGKILL') };
}

describe('eviction on the shipped composition', () => {
  it('evicts dead clients whose leases ran out, even when a run must pick victims at random', async () => {
    const node = await serve(['--eviction-interval-ms', '300', '--log-level', 'info']);
    const address = `127.0.0.1:${node.port}`;
    // Three instances on 2 s leases: one run may evict only 3 − ⌊3 × 0.85⌋ = 1 of them, so every
    // run picks its victim at random with the server's own random source.
    const clients = await Promise.all([7001, 7002, 7003].map((p) => clientProcess(address, 'orders', p)));
    const pushes = record(connect(node.port).subscribe(SubscribeRequest.fromPartial({ service: 'orders' })));
    const log = (): string => node.stderr.slice(-20).join('\n');
    await pushes.until((s) => s.hosts.length === 3, 'the three registrations', log);
    for (const c of clients) c.kill();
    await pushes.until((s) => s.hosts.length === 0, 'the three dead instances to be evicted', log);
    // The push can overtake the log lines, which come from the server's stderr.
    for (const port of [7001, 7002, 7003]) {
      await within(node.line(new RegExp(`"instanceId":"10\\.7\\.7\\.7#${port}#.*evicted expired instance`), 'stderr'), `the eviction of :${port} logged`, log);
    }
    expect(node.stderr.filter((l) => l.includes('eviction run failed'))).toEqual([]);
    expect(node.stderr.filter((l) => l.includes('evicted expired instance'))).toHaveLength(3);
  });

  it('removes a Nacos-registered instance that stops beating', async () => {
    const node = await serve(['--heartbeat-check-interval-ms', '200', '--nacos-beat-interval-ms', '200', '--nacos-beat-timeout-ms', '500', '--nacos-ip-delete-timeout-ms', '1000']);
    const http = Number(/"http":"[^"]*:(\d+)"/.exec(await node.line(/herald is serving/, 'stderr'))?.[1]);
    const pushes = record(connect(node.port).subscribe(SubscribeRequest.fromPartial({ service: 'nacos-svc' })));
    const log = (): string => node.stderr.slice(-20).join('\n');
    for (const port of [9001, 9002]) {
      const res = await fetch(`http://127.0.0.1:${http}/nacos/v1/ns/instance?serviceName=nacos-svc&ip=10.1.1.1&port=${port}`, { method: 'POST' });
      expect(await res.text()).toBe('ok');
    }
    await pushes.until((s) => s.hosts.length === 2, 'the two registrations', log);
    // No beats: unhealthy after the beat timeout, then removed after the delete timeout.
    await pushes.until((s) => s.hosts.length === 2 && s.hosts.every((h) => !h.healthy), 'both shown unhealthy', log);
    await pushes.until((s) => s.hosts.length === 0, 'both removed', log);
    // The push can overtake the log lines, which come from the server's stderr.
    for (const port of [9001, 9002]) {
      await within(node.line(new RegExp(`"instanceId":"10\\.1\\.1\\.1#${port}#.*no heartbeat within the delete timeout`), 'stderr'), `the removal of :${port} logged`, log);
    }
    expect(node.stderr.filter((l) => l.includes('no heartbeat within the delete timeout'))).toHaveLength(2);
  });
});
