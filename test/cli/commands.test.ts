/**
 * The operator commands of issue #15 on real processes: get, deregister, status set|clear, health,
 * completion, the exit codes by outcome, -o table|json|wide, service names matched as each API's
 * clients expect, and a never-reached peer shown as down.
 */
import { spawnSync } from 'node:child_process';
import { createServer, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { InstanceStatus } from '../../src/gen/herald/v1/model.js';
import { RegisterRequest, SubscribeRequest } from '../../src/gen/herald/v1/registry_service.js';
import { eurekaInstanceInfo } from '../support/eureka.js';
import { connect, onCleanup, record } from '../support/server.js';
import { herald, heraldOnce, serve } from '../support/cli.js';

/** A port that was free a moment ago (for a server the test starts there, or for nothing at all). */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => {
        resolve(typeof a === 'object' && a !== null ? a.port : 0);
      });
    });
  });
}

/** A TCP listener that accepts and never answers: a peer that hangs the start-up sync. */
async function blackHole(): Promise<number> {
  const sockets: Socket[] = [];
  const s = createServer((socket) => sockets.push(socket));
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  onCleanup(() => {
    for (const socket of sockets) socket.destroy();
    s.close();
  });
  const a = s.address();
  return typeof a === 'object' && a !== null ? a.port : 0;
}

async function withOrders(): Promise<{ s: string; port: number }> {
  const server = await serve();
  const c = connect(server.port);
  await c.register(RegisterRequest.fromPartial({ service: 'orders', instance: { instanceId: 'o-1', ip: '10.0.0.1', port: 80, metadata: { zone: 'a' } } }));
  await c.register(RegisterRequest.fromPartial({ service: 'orders', instance: { instanceId: 'o-2', ip: '10.0.0.2', port: 80 } }));
  return { s: `127.0.0.1:${server.port}`, port: server.port };
}

describe('herald get', () => {
  it('shows one service as a table, a wide table and JSON; the service as argument or flag', async () => {
    const { s } = await withOrders();
    const table = await heraldOnce(['get', 'orders', '--server', s]);
    expect(table.code).toBe(0);
    const lines = table.stdout.split('\n');
    expect(lines[0]).toMatch(/^DEFAULT_GROUP@@orders {2}revision \d+ {2}2 instance\(s\), 2 usable$/);
    expect(lines[1]).toMatch(/^INSTANCE\s+ENDPOINT\s+STATUS\s+HEALTHY\s+ENABLED\s+WEIGHT\s+CLUSTER\s+METADATA$/);
    expect(lines[2]).toMatch(/^o-1\s+10\.0\.0\.1:80\s+UP\s+yes\s+yes\s+1\s+DEFAULT\s+zone=a$/);
    const wide = await heraldOnce(['get', '--service', 'orders', '--server', s, '-o', 'wide']);
    expect(wide.stdout.split('\n')[1]).toMatch(/OVERRIDE\s+HEALTHY\s+ENABLED\s+EPHEMERAL\s+WEIGHT\s+CLUSTER\s+LEASE MS\s+RENEW MS\s+LAST DIRTY\s+METADATA$/);
    expect(wide.stdout).toMatch(/o-2\s+10\.0\.0\.2:80\s+UP\s+-\s+yes\s+yes\s+yes\s+1\s+DEFAULT\s+\d+\s+\d+\s+\d{4}-/);
    for (const args of [['-o', 'json'], ['--json']]) {
      const json = await heraldOnce(['get', 'orders', '--server', s, ...args]);
      expect((JSON.parse(json.stdout) as { hosts: { instanceId: string }[] }).hosts.map((h) => h.instanceId)).toEqual(['o-1', 'o-2']);
    }
  });

  it('ends with exit 5 for a service with no instances, 2 for a usage error, 3 when no server answers', async () => {
    const { s } = await withOrders();
    const none = await heraldOnce(['get', 'nothing', '--server', s]);
    expect([none.code, none.stderr, none.stdout]).toEqual([5, `herald: ${s}: no instances of DEFAULT_GROUP@@nothing`, '']);
    const usage = await heraldOnce(['get', 'orders', '-o', 'xml', '--server', s]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain("argument 'xml' is invalid. Allowed choices are table, json, wide.");
    expect((await heraldOnce(['get', '--server', s])).code).toBe(2);
    expect((await heraldOnce(['nonsense'])).code).toBe(2);
    const down = await heraldOnce(['get', 'orders', '--server', `127.0.0.1:${await freePort()}`]);
    expect(down.code).toBe(3);
  });

  it('finds a Eureka app by any case (Eureka stores WEB for web), saying so on stderr', async () => {
    const server = await serve();
    const http = JSON.parse(await server.line(/herald is serving/)) as { http: string };
    const res = await fetch(`http://${http.http}/eureka/apps/web`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ instance: eurekaInstanceInfo('web', 'web-1') }),
    });
    expect(res.status).toBe(204);
    const s = `127.0.0.1:${server.port}`;
    for (const command of ['get', 'list']) {
      const r = await heraldOnce([command, 'web', '--server', s]);
      expect(r.code).toBe(0);
      expect(r.stdout.split('\n')[0]).toMatch(/^DEFAULT_GROUP@@WEB /);
      expect(r.stderr).toBe('herald: no service web; showing WEB, the one service whose name differs only in case (Eureka registers app names in upper case)');
    }
    // An exact name is used as it is, with no note.
    const exact = await heraldOnce(['get', 'WEB', '--server', s]);
    expect([exact.code, exact.stderr]).toEqual([0, '']);
  });
});

describe('herald deregister and herald status set|clear', () => {
  it('takes an instance out of rotation and back, then removes it; a subscriber sees every step', async () => {
    const { s, port } = await withOrders();
    const pushes = record(connect(port).subscribe(SubscribeRequest.fromPartial({ service: 'orders' })));
    await pushes.until((v) => v.hosts.length === 2, 'both instances');

    const set = await heraldOnce(['status', 'set', 'orders', 'o-1', 'out_of_service', '--server', s]);
    expect([set.code, set.stdout]).toEqual([0, 'o-1 (10.0.0.1:80): overridden status set to OUT_OF_SERVICE; status now OUT_OF_SERVICE (overridden: OUT_OF_SERVICE)']);
    await pushes.until((v) => v.hosts.some((h) => h.instanceId === 'o-1' && h.overriddenStatus === InstanceStatus.INSTANCE_STATUS_OUT_OF_SERVICE), 'override pushed');
    const shown = await heraldOnce(['get', 'orders', '--server', s]);
    expect(shown.stdout).toMatch(/o-1\s+10\.0\.0\.1:80\s+OUT_OF_SERVICE \(override\)/);

    const clear = await heraldOnce(['status', 'clear', '--service', 'orders', 'o-1', '--server', s, '-o', 'json']);
    expect(clear.code).toBe(0);
    expect(JSON.parse(clear.stdout)).toMatchObject({ instanceId: 'o-1', status: 'UP' });
    await pushes.until(
      (v) => v.hosts.every((h) => h.overriddenStatus === InstanceStatus.INSTANCE_STATUS_UNSPECIFIED && h.status === InstanceStatus.INSTANCE_STATUS_UP),
      'override cleared',
    );

    const gone = await heraldOnce(['deregister', 'orders', 'o-2', '--server', s]);
    expect([gone.code, gone.stdout]).toEqual([0, 'deregistered o-2 (10.0.0.2:80) from orders']);
    await pushes.until((v) => v.hosts.length === 1, 'removal pushed');
    const again = await heraldOnce(['deregister', 'orders', 'o-2', '--server', s]);
    expect(again.code).toBe(5);
    expect(again.stderr).toMatch(/^herald: 127\.0\.0\.1:\d+: .*o-2/);
  });

  it('refuses a bad status or a missing argument with exit 2, and an invalid request with exit 4, changing nothing', async () => {
    const { s } = await withOrders();
    const bad = await heraldOnce(['status', 'set', 'orders', 'o-1', 'SIDEWAYS', '--server', s]);
    expect([bad.code, bad.stderr]).toEqual([2, 'herald: status must be one of UP, DOWN, STARTING, OUT_OF_SERVICE, UNKNOWN, not SIDEWAYS']);
    const missing = await heraldOnce(['status', 'set', 'orders', 'o-1', '--server', s]);
    expect([missing.code, missing.stderr]).toEqual([2, 'herald: expected <service> <instance-id> <status> (or --service <name> <instance-id> <status>)']);
    const invalid = await heraldOnce(['deregister', 'bad name!', 'o-1', '--server', s]);
    expect(invalid.code).toBe(4);
    const still = await heraldOnce(['get', 'orders', '--server', s, '--json']);
    expect((JSON.parse(still.stdout) as { hosts: { status: string }[] }).hosts.map((h) => h.status)).toEqual(['UP', 'UP']);
  });
});

describe('herald health', () => {
  it('exit 0 when serving, 3 when a server is not reached, 6 while a node runs its start-up sync', async () => {
    const { s } = await withOrders();
    const ok = await heraldOnce(['health', '--server', s]);
    expect(ok.code).toBe(0);
    expect(ok.stdout.split('\n')[1]).toMatch(new RegExp(`^${s.replace(/\./g, '\\.')}\\s+SERVING\\s+alive and ready$`));
    const dead = `127.0.0.1:${await freePort()}`;
    const mixed = await heraldOnce(['health', '--server', `${s},${dead}`, '-o', 'json']);
    expect(mixed.code).toBe(3);
    expect((JSON.parse(mixed.stdout) as { status: string }[]).map((h) => h.status)).toEqual(['SERVING', 'UNREACHABLE']);

    // A node whose only peer accepts connections and never answers stays in its start-up sync.
    const port = await freePort();
    const syncing = herald(
      ['serve', '--host', '127.0.0.1', '--port', String(port), '--http-port', '0', '--peers', `127.0.0.1:${await blackHole()}`, '--sync-timeout-ms', '120000'],
      {
        HERALD_CLUSTER_SECRET: 'shh',
      },
    );
    let r = await heraldOnce(['health', '--server', `127.0.0.1:${port}`]);
    // Until the port is bound the server is unreachable (3); then it answers NOT_SERVING (6).
    while (r.code === 3) r = await heraldOnce(['health', '--server', `127.0.0.1:${port}`]);
    expect(r.code).toBe(6);
    expect(r.stdout).toMatch(/NOT_SERVING\s+alive, not ready/);
    syncing.proc.kill('SIGKILL');
  });
});

describe('herald cluster', () => {
  it('shows a peer that was never reached as down, with why', async () => {
    const port = await freePort();
    const n = herald(['serve', '--host', '127.0.0.1', '--port', String(port), '--http-port', '0', '--peers', `127.0.0.1:${await freePort()}`, '--sync-timeout-ms', '300'], {
      HERALD_CLUSTER_SECRET: 'shh',
    });
    await n.line(/herald is serving/);
    const r = await heraldOnce(['cluster', '--server', `127.0.0.1:${port}`, '--cluster-secret', 'shh']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\s+down\s+0\s+never\s+0\s+not reachable during the start-up sync$/m);
    n.proc.kill('SIGTERM');
  });
});

describe('herald completion', () => {
  it('bash: a script bash accepts, completing commands, subcommands, flags and -o values', async () => {
    const script = (await heraldOnce(['completion', 'bash'])).stdout;
    const complete = (words: string[]): string[] => {
      const r = spawnSync(
        'bash',
        ['-c', `${script}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _herald; printf '%s\\n' "\${COMPREPLY[@]}"`],
        {
          encoding: 'utf8',
        },
      );
      expect(r.stderr).toBe('');
      return r.stdout
        .split('\n')
        .filter((l) => l !== '')
        .sort();
    };
    expect(complete(['herald', 'de'])).toEqual(['deregister']);
    expect(complete(['herald', 'status', 's'])).toEqual(['set']);
    expect(complete(['herald', 'get', 'orders', '--ser'])).toEqual(['--server', '--service']);
    expect(complete(['herald', 'get', '-o', ''])).toEqual(['json', 'table', 'wide']);
    expect(complete(['herald', 'status', 'set', '--na'])).toEqual(['--namespace']);
  });

  it('zsh: a #compdef script naming every command; an unknown shell is a usage error', async () => {
    const zsh = await heraldOnce(['completion', 'zsh']);
    expect(zsh.stdout.split('\n')[0]).toBe('#compdef herald');
    for (const c of ['serve', 'register', 'deregister', 'get', 'list', 'watch', 'status', 'health', 'cluster', 'auth', 'completion']) expect(zsh.stdout).toContain(`'${c}:`);
    expect(zsh.stdout).toContain(':value:(table json wide)');
    expect((await heraldOnce(['completion', 'fish'])).code).toBe(2);
  });
});
