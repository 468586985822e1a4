import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { RegisterRequest, SubscribeRequest } from '../../src/gen/herald/v1/registry_service.js';
import { connect, record } from '../support/server.js';
import { herald, heraldOnce, serve } from '../support/cli.js';

/** A port nothing listens on (it was free a moment ago), for an unreachable server. */
function deadPort(): Promise<number> {
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

/** grpc-js's own wording, which no command should print. */
const RAW_GRPC_TEXT = /No connection established|Resolution note|Last error|Name resolution failed|Deadline exceeded/;

describe('herald serve', () => {
  it('serves, logs structured JSON, and on SIGTERM ends streams with UNAVAILABLE and exits 0', async () => {
    const server = await serve();
    const c = connect(server.port);
    const pushes = record(c.subscribe(SubscribeRequest.fromPartial({ service: 'orders' })));
    await pushes.until(() => true, 'subscribed');
    server.proc.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    const ended = await pushes.failure('the stream to end');
    expect((ended as ServiceError).code).toBe(GrpcStatus.UNAVAILABLE);
    const logs = server.stderr.map((l) => JSON.parse(l) as { level: string; msg: string });
    expect(logs.map((l) => l.msg)).toEqual(['herald is serving', 'shutting down', 'herald stopped']);
    expect(logs[0]?.level).toBe('info');
  });

  it('exits 0 on SIGINT too', async () => {
    const server = await serve();
    server.proc.kill('SIGINT');
    expect(await server.exited).toBe(0);
  });

  it('takes settings from the environment and names the variable when one is bad', async () => {
    // HERALD_LOG_LEVEL=silent and HERALD_PORT are overridden by the flags: the start line is logged,
    // on a free port; HERALD_HTTP_PORT=0 applies (no test binds a fixed port, such as 8848).
    const ok = herald(['serve', '--host', '127.0.0.1', '--port', '0', '--log-level', 'info'], { HERALD_LOG_LEVEL: 'silent', HERALD_PORT: '1', HERALD_HTTP_PORT: '0' });
    const started = JSON.parse(await ok.line(/herald is serving/)) as { address: string; http: string };
    expect(started.address).not.toBe('127.0.0.1:1');
    expect(started.http).not.toBe('127.0.0.1:8848');
    ok.proc.kill('SIGTERM');
    expect(await ok.exited).toBe(0);
    const p = herald(['serve', '--host', '127.0.0.1', '--port', '0', '--http-port', '0'], { HERALD_MERGE_WINDOW_MS: 'x' });
    expect(await p.exited).toBe(2);
    expect(p.stderr.join('\n')).toContain("option '--merge-window-ms <ms>' value 'x' from env 'HERALD_MERGE_WINDOW_MS' is invalid. must be an integer from 0 to 10000");
  });

  it('rejects contradictory settings naming the flags', async () => {
    const r = await heraldOnce(['serve', '--host', '127.0.0.1', '--port', '0', '--http-port', '0', '--lease-duration-ms', '5000', '--renewal-interval-ms', '5000']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('herald: invalid configuration: --renewal-interval-ms must be shorter than --lease-duration-ms');
  });

  it('refuses peers on a non-loopback address without a cluster secret, and bad TLS or auth files, naming the flag or the file', async () => {
    const peers = await heraldOnce(['serve', '--host', '127.0.0.1', '--port', '0', '--http-port', '0', '--peers', '10.1.2.3:7070']);
    expect(peers.code).toBe(2);
    expect(peers.stderr).toContain('herald: invalid configuration: --cluster-secret is required for a cluster on a non-loopback address (10.1.2.3:7070)');
    const halfTls = await heraldOnce(['serve', '--host', '127.0.0.1', '--port', '0', '--http-port', '0', '--tls-cert', 'x.pem']);
    expect(halfTls.code).toBe(2);
    expect(halfTls.stderr).toContain('--tls-cert and --tls-key go together');
    const noAuthFile = await heraldOnce(['serve', '--host', '127.0.0.1', '--port', '0', '--http-port', '0', '--auth-file', '/nonexistent/auth.yaml']);
    expect(noAuthFile.code).toBe(1);
    expect(noAuthFile.stderr).toContain('/nonexistent/auth.yaml: cannot read the auth file');
  });

  it('says in one line when the port is taken, at the default log level too', async () => {
    const first = await serve();
    const r = await heraldOnce(['serve', '--host', '127.0.0.1', '--port', String(first.port), '--http-port', '0']);
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n')).toEqual([
      `herald: cannot listen on 127.0.0.1:${first.port} (gRPC): the address is already in use (another process listens there); pick another with --port`,
    ]);
  });
});

describe('herald register', () => {
  it('registers, renews, cancels on Ctrl-C and exits 0', async () => {
    const server = await serve();
    const c = connect(server.port);
    const pushes = record(c.subscribe(SubscribeRequest.fromPartial({ service: 'orders' })));
    const reg = herald([
      'register',
      '--server',
      `127.0.0.1:${server.port}`,
      '--service',
      'orders',
      '--ip',
      '10.0.0.5',
      '--port',
      '8080',
      '--metadata',
      'zone=a',
      '--metadata',
      'v=2',
      '--weight',
      '3',
    ]);
    await reg.line(/^registered 10\.0\.0\.5#8080#DEFAULT#DEFAULT_GROUP@@orders/);
    const pushed = await pushes.until((v) => v.hosts.length === 1, 'instance pushed');
    expect(pushed.hosts[0]).toMatchObject({ metadata: { zone: 'a', v: '2' }, weight: 3 });
    reg.proc.kill('SIGINT');
    expect(await reg.exited).toBe(0);
    expect(reg.stdout.at(-1)).toBe('deregistered');
    await pushes.until((v) => v.hosts.length === 0, 'removal pushed');
  });

  it('re-registers by itself when the server restarts and answers NOT_FOUND', async () => {
    const first = await serve();
    const port = first.port;
    const reg = herald([
      'register',
      '--server',
      `127.0.0.1:${port}`,
      '--service',
      'orders',
      '--ip',
      '10.0.0.5',
      '--port',
      '8080',
      '--lease-duration-ms',
      '3000',
      '--renewal-interval-ms',
      '200',
      '--json',
    ]);
    await reg.line(/"kind":"registered"/);
    first.proc.kill('SIGTERM');
    await first.exited;
    await reg.line(/"kind":"renew-failing"/);
    // A new, empty server on the same port: the next renew gets NOT_FOUND and the client registers again.
    const restarted = await serve(['--port', String(port)]);
    expect(restarted.port).toBe(port);
    const onRestarted = record(connect(port).subscribe(SubscribeRequest.fromPartial({ service: 'orders' })));
    await onRestarted.until((v) => v.hosts.length === 1, 're-registered');
    reg.proc.kill('SIGTERM');
    expect(await reg.exited).toBe(0);
  });

  it('ends with a one-line reason and exit 4 when the server refuses the registration (no retries)', async () => {
    const server = await serve();
    const r = await heraldOnce(['register', '--server', `127.0.0.1:${server.port}`, '--service', 'orders', '--ip', 'not an ip!', '--port', '8080']);
    expect(r.code).toBe(4);
    expect(r.stderr.split('\n')).toEqual(['herald: the server refused the registration: instance.ip "not an ip!" is not an IPv4 or IPv6 address or a host name']);
    expect(r.stdout.split('\n')).toEqual(['registering orders']);
    // --json prints the final state as a JSON line, with the code.
    const json = await heraldOnce(['register', '--server', `127.0.0.1:${server.port}`, '--service', 'orders', '--ip', 'not an ip!', '--port', '8080', '--json']);
    expect(json.code).toBe(4);
    const final = JSON.parse(json.stdout.split('\n').at(-1) ?? '') as { kind: string; code: string; reason: string };
    expect([final.kind, final.code, final.reason]).toEqual(['rejected', 'INVALID_ARGUMENT', 'instance.ip "not an ip!" is not an IPv4 or IPv6 address or a host name']);
  });

  it('says plainly that the server cannot be reached, keeps retrying, and registers once it is up', async () => {
    const port = await deadPort();
    const reg = herald(['register', '--server', `127.0.0.1:${port}`, '--service', 'orders', '--ip', '10.0.0.5', '--port', '8080']);
    await reg.line(new RegExp(`^registering orders \\(attempt 3; last error: cannot reach 127\\.0\\.0\\.1:${port} \\(connection refused\\)\\)$`));
    const server = await serve(['--port', String(port)]);
    await reg.line(/^registered 10\.0\.0\.5#8080/);
    expect([...reg.stdout, ...reg.stderr].filter((l) => RAW_GRPC_TEXT.test(l))).toEqual([]);
    reg.proc.kill('SIGINT');
    expect(await reg.exited).toBe(0);
    server.proc.kill('SIGTERM');
  });

  it('rejects missing and malformed flags with exit 2 (a usage error)', async () => {
    const missing = await heraldOnce(['register', '--service', 'x', '--ip', '1.2.3.4']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("required option '--port <port>' not specified");
    const bad = await heraldOnce(['register', '--service', 'x', '--ip', '1.2.3.4', '--port', '1', '--metadata', 'novalue']);
    expect(bad.stderr).toContain("option '--metadata <key=value>' argument 'novalue' is invalid. must be key=value");
    expect(bad.code).toBe(2);
    const noService = await heraldOnce(['register', '--ip', '1.2.3.4', '--port', '1']);
    expect([noService.code, noService.stderr]).toEqual([2, 'herald: missing the service: give it as the <service> argument (or --service)']);
    const twice = await heraldOnce(['register', 'orders', '--service', 'billing', '--ip', '1.2.3.4', '--port', '1']);
    expect([twice.code, twice.stderr]).toEqual([2, 'herald: the service is named twice, as orders and --service billing']);
  });
});

describe('herald list and watch', () => {
  it('lists services and instances as tables and JSON', async () => {
    const server = await serve();
    const c = connect(server.port);
    await c.register(RegisterRequest.fromPartial({ service: 'orders', instance: { instanceId: 'o-1', ip: '10.0.0.1', port: 80, metadata: { zone: 'a' } } }));
    await c.register(RegisterRequest.fromPartial({ group: 'PAY', service: 'billing', instance: { instanceId: 'b-1', ip: '10.0.0.2', port: 81, healthy: false } }));
    const s = `127.0.0.1:${server.port}`;
    const services = await heraldOnce(['list', '--server', s]);
    expect(services.code).toBe(0);
    expect(services.stdout.split('\n').map((l) => l.split(/\s{2,}/).slice(0, 5))).toEqual([
      ['GROUP', 'SERVICE', 'INSTANCES', 'HEALTHY', 'CLUSTERS'],
      ['DEFAULT_GROUP', 'orders', '1', '1', 'DEFAULT'],
      ['PAY', 'billing', '1', '0', 'DEFAULT'],
    ]);
    const instances = await heraldOnce(['list', '--server', s, '--service', 'orders']);
    expect(instances.stdout).toMatch(/^DEFAULT_GROUP@@orders {2}revision \d+ {2}1 instance\(s\), 1 usable\nINSTANCE\s+ENDPOINT\s+STATUS/);
    expect(instances.stdout).toMatch(/o-1\s+10\.0\.0\.1:80\s+UP\s+yes\s+yes\s+1\s+DEFAULT\s+zone=a/);
    const json = JSON.parse((await heraldOnce(['list', '--server', s, '--service', 'billing', '--group', 'PAY', '--json'])).stdout) as { hosts: { healthy: boolean }[] };
    expect(json.hosts).toEqual([expect.objectContaining({ instanceId: 'b-1', healthy: false })]);
  });

  it('list and cluster say plainly that the server cannot be reached', async () => {
    const port = await deadPort();
    for (const command of ['list', 'cluster']) {
      const r = await heraldOnce([command, '--server', `127.0.0.1:${port}`]);
      expect(r.code).toBe(3);
      expect(r.stderr.split('\n')[0]).toBe(`herald: cannot reach 127.0.0.1:${port} (connection refused)`);
      expect(r.stderr).not.toMatch(RAW_GRPC_TEXT);
    }
    const other = await deadPort();
    const both = await heraldOnce(['list', '--server', `127.0.0.1:${port},127.0.0.1:${other}`]);
    expect(both.stderr.split('\n')[0]).toBe(`herald: cannot reach any server: 127.0.0.1:${port} (connection refused); 127.0.0.1:${other} (connection refused)`);
    const unknown = await heraldOnce(['list', '--server', 'no-such-host.invalid:7070']);
    expect(unknown.stderr.split('\n')[0]).toBe('herald: cannot reach no-such-host.invalid:7070 (host name not found)');
  });

  it('watch says plainly that the server cannot be reached, keeps retrying, and watches once it is up', async () => {
    const port = await deadPort();
    const w = herald(['watch', 'orders', '--server', `127.0.0.1:${port}`]);
    await w.line(new RegExp(`^herald: cannot reach 127\\.0\\.0\\.1:${port} \\(connection refused\\); retrying$`), 'stderr');
    const server = await serve(['--port', String(port)]);
    await w.line(/orders {2}revision 0 {2}0 hosts {2}initial/, 'stdout');
    await w.line(new RegExp(`^connected to 127\\.0\\.0\\.1:${port}$`), 'stderr');
    expect([...w.stdout, ...w.stderr].filter((l) => RAW_GRPC_TEXT.test(l))).toEqual([]);
    w.proc.kill('SIGINT');
    expect(await w.exited).toBe(0);
    server.proc.kill('SIGTERM');
  });

  it('list and cluster try the --server addresses in turn until one answers', async () => {
    const dead = await serve();
    dead.proc.kill('SIGTERM');
    await dead.exited;
    const live = await serve();
    await connect(live.port).register(RegisterRequest.fromPartial({ service: 'orders', instance: { instanceId: 'o-1', ip: '10.0.0.1', port: 80 } }));
    const servers = `127.0.0.1:${dead.port},127.0.0.1:${live.port}`;
    const list = await heraldOnce(['list', '--server', servers]);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/DEFAULT_GROUP\s+orders\s+1/);
    const cluster = await heraldOnce(['cluster', '--server', servers]);
    expect(cluster.code).toBe(0);
    expect(cluster.stdout).toMatch(/^node \S+\s+synced\s+0 peer\(s\)/);
    // An answer that is an error is final: the next server is not asked.
    const bad = await heraldOnce(['list', '--server', `127.0.0.1:${live.port},127.0.0.1:${dead.port}`, '--service', 'bad name!']);
    expect(bad.code).toBe(4);
    expect(bad.stderr).toContain(`herald: 127.0.0.1:${live.port}: service`);
  });

  it('watch prints each push with what changed, as text and as JSON lines', async () => {
    const server = await serve();
    const c = connect(server.port);
    const s = `127.0.0.1:${server.port}`;
    const text = herald(['watch', 'orders', '--server', s]);
    const json = herald(['watch', 'orders', '--server', s, '--json']);
    await text.line(/orders {2}revision 0 {2}0 hosts {2}initial/);
    await json.line(/"initial":true/);
    await c.register(RegisterRequest.fromPartial({ service: 'orders', instance: { instanceId: 'o-1', ip: '10.0.0.1', port: 80 } }));
    await text.line(/1 hosts {2}\+1 ~0 -0/);
    await text.line(/^ {2}\+ o-1 {2}10\.0\.0\.1:80 {2}UP {2}weight 1 {2}DEFAULT$/);
    const added = JSON.parse(await json.line(/"added":\["o-1"\]/)) as { snapshot: { revision: number } };
    expect(added.snapshot.revision).toBeGreaterThan(0);
    await c.cancel({ namespace: '', group: '', service: 'orders', instanceId: 'o-1' });
    await text.line(/0 hosts {2}\+0 ~0 -1/);
    await json.line(/"removed":\["o-1"\]/);
    text.proc.kill('SIGINT');
    json.proc.kill('SIGINT');
    expect(await text.exited).toBe(0);
    expect(await json.exited).toBe(0);
  });
});

describe('herald serve --peers and herald cluster', () => {
  it('two processes form a cluster: a registration on one is listed on the other; cluster shows the peer', async () => {
    const { createServer } = await import('node:net');
    const free = (): Promise<number> =>
      new Promise((resolve) => {
        const s = createServer();
        s.listen(0, '127.0.0.1', () => {
          const a = s.address();
          s.close(() => {
            resolve(typeof a === 'object' && a !== null ? a.port : 0);
          });
        });
      });
    const [p1, p2] = [await free(), await free()];
    const peers = `127.0.0.1:${p1},127.0.0.1:${p2}`;
    const env = { HERALD_CLUSTER_SECRET: 'shh', HERALD_PEERS: peers };
    const n1 = herald(['serve', '--host', '127.0.0.1', '--port', String(p1), '--http-port', '0', '--node-id', 'node-1', '--sync-timeout-ms', '200'], env);
    await n1.line(/herald is serving/);
    const n2 = herald(['serve', '--host', '127.0.0.1', '--port', String(p2), '--http-port', '0', '--node-id', 'node-2'], env);
    await n2.line(/herald is serving/);
    await n2.line(/synced from peer/);
    await connect(p1).register(RegisterRequest.fromPartial({ service: 'orders', instance: { instanceId: 'o-1', ip: '10.0.0.1', port: 80 } }));
    const onN2 = record(connect(p2).subscribe(SubscribeRequest.fromPartial({ service: 'orders' })));
    await onN2.until((v) => v.hosts.some((h) => h.instanceId === 'o-1'), 'replicated to node 2');
    expect((await heraldOnce(['list', '--server', `127.0.0.1:${p2}`, '--service', 'orders'])).stdout).toContain('o-1');
    const status = await heraldOnce(['cluster', '--server', `127.0.0.1:${p1}`, '--cluster-secret', 'shh']);
    expect(status.stdout.split('\n')[0]).toBe('node node-1  synced  1 peer(s)');
    expect(status.stdout).toMatch(new RegExp(`127\\.0\\.0\\.1:${p2}\\s+node-2\\s+up\\s+0`));
    n1.proc.kill('SIGTERM');
    n2.proc.kill('SIGTERM');
    expect(await n1.exited).toBe(0);
    expect(await n2.exited).toBe(0);
  });
});
