/**
 * The real Prometheus (the Debian package's /usr/bin/prometheus) discovers herald's instances
 * through both its service discoveries: `eureka_sd_configs` (which sends GET <server>/apps with no
 * Accept header and reads only Eureka's XML) and `http_sd_configs` (GET /prometheus/sd). herald runs
 * as `herald serve`; one instance registers over gRPC and one over Eureka with an XML body, as a Java
 * client would. The test reads Prometheus's /api/v1/targets until both discoveries show them with
 * their labels (refresh interval 1 s; bounded polling, no sleeps). With auth on, Prometheus sends
 * Basic credentials to the Eureka API and a bearer token to the SD endpoint, as its config says.
 * Skipped when Prometheus is not installed, unless HERALD_REQUIRE_PROMETHEUS=1 (CI), where its
 * absence fails the test.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RegisterRequest } from '../../src/gen/herald/v1/registry_service.js';
import { authFixture } from '../support/auth-fixture.js';
import { serve } from '../support/cli.js';
import { eurekaInstanceXml } from '../support/eureka.js';
import { freePorts } from '../support/fault-node.js';
import { connect, onCleanup } from '../support/server.js';

const PROMETHEUS = '/usr/bin/prometheus';
const required = process.env.HERALD_REQUIRE_PROMETHEUS === '1';
const present = existsSync(PROMETHEUS);
if (!present && !required) console.warn(`prometheus-sd interop: ${PROMETHEUS} is missing (Debian package "prometheus"); skipped. Set HERALD_REQUIRE_PROMETHEUS=1 to fail instead.`);

interface ActiveTarget {
  readonly discoveredLabels: Record<string, string>;
  readonly labels: Record<string, string>;
  readonly scrapePool: string;
}

/** Polls `read` until `done` holds for its value or `ms` pass; returns the last value. */
async function pollUntil<T>(read: () => Promise<T>, done: (v: T) => boolean, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (done(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Starts Prometheus on a free port with `scrapeConfigs` (YAML lines under scrape_configs:) and answers its active targets per scrape pool, polled until `done`. */
async function prometheusTargets(
  scrapeConfigs: readonly string[],
  done: (pools: (name: string) => ActiveTarget[]) => boolean,
): Promise<{ pool: (name: string) => ActiveTarget[]; why: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'herald-prometheus-'));
  onCleanup(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'prometheus.yml'), ['global:', '  scrape_interval: 1h', 'scrape_configs:', ...scrapeConfigs, ''].join('\n'));
  const [webPort = 0] = await freePorts(1);
  const logs: string[] = [];
  const prom = spawn(
    PROMETHEUS,
    [`--config.file=${join(dir, 'prometheus.yml')}`, `--web.listen-address=127.0.0.1:${String(webPort)}`, `--storage.tsdb.path=${join(dir, 'data')}`],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  prom.stdout.on('data', (b: Buffer) => logs.push(b.toString()));
  prom.stderr.on('data', (b: Buffer) => logs.push(b.toString()));
  const exited = new Promise<void>((resolve) => {
    prom.once('exit', () => {
      resolve();
    });
  });
  onCleanup(async () => {
    if (prom.exitCode === null && prom.signalCode === null) {
      prom.kill('SIGTERM');
      await exited;
    }
  });
  const targets = async (): Promise<ActiveTarget[]> => {
    try {
      const res = await fetch(`http://127.0.0.1:${String(webPort)}/api/v1/targets?state=active`);
      if (!res.ok) return [];
      const body = (await res.json()) as { data?: { activeTargets?: ActiveTarget[] } };
      return body.data?.activeTargets ?? [];
    } catch {
      return []; // not listening yet
    }
  };
  const poolOf = (all: readonly ActiveTarget[]) => (name: string) => all.filter((t) => t.scrapePool === name);
  const seen = await pollUntil(targets, (all) => done(poolOf(all)), 60_000);
  return { pool: poolOf(seen), why: `Prometheus targets: ${JSON.stringify(seen)}\nPrometheus log:\n${logs.join('')}` };
}

/** Discovered labels of a pool, sorted by `key`. */
const labelsBy = (targets: readonly ActiveTarget[], key: string): Record<string, string>[] =>
  targets.map((t) => t.discoveredLabels).sort((a, b) => (a[key] ?? '').localeCompare(b[key] ?? ''));

/** `herald serve` (extra flags) and its HTTP base URL. */
async function heraldServe(args: string[] = []): Promise<{ port: number; base: string }> {
  const herald = await serve(args);
  const serving = JSON.parse(await herald.line(/herald is serving/, 'stderr')) as { http: string };
  return { port: herald.port, base: `http://127.0.0.1:${serving.http.split(':').at(-1) ?? ''}` };
}

describe.skipIf(!present && !required)('Prometheus discovers herald (eureka_sd_configs and http_sd_configs)', () => {
  it('shows herald instances registered over gRPC and over Eureka XML as targets with __meta_eureka_* and __meta_herald_* labels', { timeout: 90_000 }, async () => {
    expect(present, `${PROMETHEUS} is required (HERALD_REQUIRE_PROMETHEUS=1); install the Debian package "prometheus"`).toBe(true);
    const herald = await heraldServe();
    // One instance over gRPC (service "inventory", default group: Eureka shows it as INVENTORY) ...
    await connect(herald.port).register(
      RegisterRequest.fromPartial({ service: 'inventory', instance: { instanceId: 'inv-1', ip: '127.0.0.11', port: 9100, metadata: { 'app.version': '1.2', zone: 'a' } } }),
    );
    // ... and one over Eureka, with the XML body a Java Eureka client sends.
    const reg = await fetch(`${herald.base}/eureka/apps/BILLING`, {
      method: 'POST',
      headers: { 'content-type': 'application/xml' },
      body: eurekaInstanceXml('BILLING', 'bill-1', '', '127.0.0.12'),
    });
    expect(reg.status).toBe(204);

    const { pool, why } = await prometheusTargets(
      [
        '  - job_name: eureka',
        '    eureka_sd_configs:',
        `      - server: ${herald.base}/eureka`,
        '        refresh_interval: 1s',
        '  - job_name: herald',
        '    http_sd_configs:',
        `      - url: ${herald.base}/prometheus/sd`,
        '        refresh_interval: 1s',
      ],
      (p) => p('eureka').length >= 2 && p('herald').length >= 2,
    );
    const eureka = labelsBy(pool('eureka'), '__meta_eureka_app_name');
    expect(eureka, why).toMatchObject([
      {
        __address__: 'bill-1.local:8080',
        __meta_eureka_app_name: 'BILLING',
        __meta_eureka_app_instance_hostname: 'bill-1.local',
        __meta_eureka_app_instance_ip_addr: '127.0.0.12',
        __meta_eureka_app_instance_port: '8080',
        __meta_eureka_app_instance_port_enabled: 'true',
        __meta_eureka_app_instance_status: 'UP',
        __meta_eureka_app_instance_id: 'bill-1',
        __meta_eureka_app_instance_vip_address: 'billing',
        __meta_eureka_app_instance_datacenterinfo_name: 'MyOwn',
        __meta_eureka_app_instance_metadata_zone: 'b',
      },
      {
        __address__: '127.0.0.11:9100',
        __meta_eureka_app_name: 'INVENTORY',
        __meta_eureka_app_instance_ip_addr: '127.0.0.11',
        __meta_eureka_app_instance_port: '9100',
        __meta_eureka_app_instance_status: 'UP',
        __meta_eureka_app_instance_id: 'inv-1',
        __meta_eureka_app_instance_metadata_zone: 'a',
      },
    ]);

    const http = labelsBy(pool('herald'), '__address__');
    expect(http, why).toMatchObject([
      {
        __address__: '127.0.0.11:9100',
        __meta_herald_namespace: 'public',
        __meta_herald_group: 'DEFAULT_GROUP',
        __meta_herald_service: 'inventory',
        __meta_herald_cluster: 'DEFAULT',
        __meta_herald_healthy: 'true',
        __meta_herald_metadata_app_version: '1.2',
        __meta_herald_metadata_zone: 'a',
      },
      { __address__: '127.0.0.12:8080', __meta_herald_service: 'BILLING', __meta_herald_metadata_zone: 'b', __meta_herald_metadata_eureka_hostName: 'bill-1.local' },
    ]);
  });

  it('with auth on, discovers through Basic credentials (Eureka) and a bearer token (SD) given in its config', { timeout: 90_000 }, async () => {
    expect(present, `${PROMETHEUS} is required (HERALD_REQUIRE_PROMETHEUS=1)`).toBe(true);
    const auth = await authFixture([
      { name: 'deployer', password: 'deployer-pw', roles: [{ namespace: 'public', permission: 'write' }] },
      { name: 'prometheus', password: 'prometheus-pw', roles: [{ namespace: 'public', permission: 'read' }] },
    ]);
    const herald = await heraldServe(['--auth-file', auth.path]);
    const basic = (user: string, pw: string): string => `Basic ${Buffer.from(`${user}:${pw}`).toString('base64')}`;
    const anonymous = await fetch(`${herald.base}/prometheus/sd`);
    expect(anonymous.status).toBe(401);
    const reg = await fetch(`${herald.base}/eureka/apps/BILLING`, {
      method: 'POST',
      headers: { 'content-type': 'application/xml', authorization: basic('deployer', 'deployer-pw') },
      body: eurekaInstanceXml('BILLING', 'bill-1', '', '127.0.0.12'),
    });
    expect(reg.status).toBe(204);
    const { pool, why } = await prometheusTargets(
      [
        '  - job_name: eureka',
        '    eureka_sd_configs:',
        `      - server: ${herald.base}/eureka`,
        '        refresh_interval: 1s',
        '        basic_auth: { username: prometheus, password: prometheus-pw }',
        '  - job_name: herald',
        '    http_sd_configs:',
        `      - url: ${herald.base}/prometheus/sd?service=BILLING`,
        '        refresh_interval: 1s',
        `        authorization: { credentials: ${auth.tokens.prometheus ?? ''} }`,
      ],
      (p) => p('eureka').length >= 1 && p('herald').length >= 1,
    );
    expect(labelsBy(pool('eureka'), '__address__'), why).toMatchObject([
      { __address__: 'bill-1.local:8080', __meta_eureka_app_name: 'BILLING', __meta_eureka_app_instance_id: 'bill-1' },
    ]);
    expect(labelsBy(pool('herald'), '__address__'), why).toMatchObject([{ __address__: '127.0.0.12:8080', __meta_herald_service: 'BILLING', __meta_herald_metadata_zone: 'b' }]);
  });
});
