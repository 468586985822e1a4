/**
 * The web console in a real browser (Debian's Chromium, headless, driven by playwright-core) against
 * the shipped composition: a `herald serve` process as the CLI builds it, instances registered over
 * gRPC with the real SDK. The page lists a service, shows a new instance pushed to it without a
 * reload, and marks an instance OUT_OF_SERVICE, which a gRPC subscriber sees pushed. A screenshot
 * of the service page is saved to test-artifacts/console-service.png (described in docs/console.md).
 *
 * Without /usr/bin/chromium the suite is skipped and says so, unless HERALD_REQUIRE_BROWSER=1 (CI),
 * which makes the absence a failure.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { createRegistryClient, type RegistryClient, type RegistrationHandle, type ServiceChangeEvent } from '../../../src/client/index.js';
import { authFixture } from '../../support/auth-fixture.js';
import { serve } from '../../support/cli.js';
import { onCleanup, record } from '../../support/server.js';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'];
const ARTIFACTS = 'test-artifacts';
const required = process.env.HERALD_REQUIRE_BROWSER === '1';
const present = existsSync(CHROMIUM);

if (!present) {
  const why = `${CHROMIUM} is missing (Debian: apt-get install chromium); the console's browser tests are ${required ? 'required (HERALD_REQUIRE_BROWSER=1)' : 'skipped'}`;
  if (required) throw new Error(why);
  console.warn(why);
}

function client(port: number): RegistryClient {
  const c = createRegistryClient({ servers: [`127.0.0.1:${port}`], resubscribeBackoffMaxMs: 200, heartbeatBackoffMaxMs: 200 });
  onCleanup(() => c.close());
  return c;
}

async function registered(h: RegistrationHandle): Promise<void> {
  await record(h.state$).until((s) => s.kind === 'registered', `${h.instanceId ?? 'instance'} registered`);
}

async function browser(): Promise<{ context: BrowserContext; page: Page }> {
  const userDataDir = mkdtempSync(join(tmpdir(), 'herald-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1440, height: 820 } });
  onCleanup(async () => {
    await context.close();
    rmSync(userDataDir, { recursive: true, force: true });
  });
  const page = context.pages()[0] ?? (await context.newPage());
  return { context, page };
}

const id = (ip: string, port: number): string => `${ip}#${port}#DEFAULT#DEFAULT_GROUP@@orders`;
const row = (instanceId: string): string => `#instances .row[data-id="${instanceId}"]`;

describe.skipIf(!present)('web console in Chromium', () => {
  it('lists a gRPC-registered service, shows a new instance without a reload, and its OUT_OF_SERVICE reaches a gRPC subscriber', { timeout: 60_000 }, async () => {
    const server = await serve(['--merge-window-ms', '2']);
    const serving = await server.line(/herald is serving/, 'stderr');
    const { http } = JSON.parse(serving) as { http: string };
    const base = `http://${http}`;

    const owner = client(server.port);
    const first = owner.register({ service: 'orders', ip: '10.0.0.1', port: 8080, metadata: { version: '1.4.2', zone: 'eu-west-1a' } });
    const others = [
      owner.register({ service: 'orders', ip: '10.0.0.3', port: 8080, cluster: 'DEFAULT', weight: 2, metadata: { version: '1.4.2', zone: 'eu-west-1b' } }),
      owner.register({ service: 'payments', ip: '10.0.1.1', port: 9090, metadata: { version: '3.0.0' } }),
      owner.register({ service: 'inventory', ip: '10.0.2.1', port: 7000 }),
    ];
    await Promise.all([first, ...others].map(registered));
    // One more over the Nacos API, in another cluster: the page says which API registered what.
    const nacos = await fetch(
      `${base}/nacos/v1/ns/instance?${new URLSearchParams({ serviceName: 'orders', ip: '10.0.0.4', port: '8080', clusterName: 'eu-west', metadata: 'version=1.4.1' }).toString()}`,
      {
        method: 'POST',
      },
    );
    expect(await nacos.text()).toBe('ok');

    const { page } = await browser();
    await page.goto(`${base}/`);
    // A mark on the page's global object: a reload would lose it.
    await page.evaluate(() => {
      (globalThis as Record<string, unknown>).heraldNotReloaded = true;
    });
    const notReloaded = (): Promise<unknown> => page.evaluate(() => (globalThis as Record<string, unknown>).heraldNotReloaded);
    // The service list shows the gRPC-registered service with its count and healthy share.
    const orders = page.locator('#services a.row[data-service="orders"]');
    await orders.waitFor();
    expect(await orders.innerText()).toMatch(/orders[\s\S]*3[\s\S]*100%/);
    await orders.click();
    await page.waitForSelector(row(id('10.0.0.1', 8080)));
    expect(await page.locator(`${row(id('10.0.0.1', 8080))} .via`).innerText()).toBe('grpc');
    expect(await page.locator(`${row('10.0.0.4#8080#eu-west#DEFAULT_GROUP@@orders')} .via`).innerText()).toBe('nacos');

    // A new instance appears, pushed: the page is waiting on it before it is registered.
    const appears = page.waitForSelector(row(id('10.0.0.2', 8080)), { timeout: 1_000 });
    const second = owner.register({ service: 'orders', ip: '10.0.0.2', port: 8080, metadata: { version: '1.5.0-rc1', zone: 'eu-west-1c' } });
    await appears;
    await registered(second);
    expect(await notReloaded()).toBe(true);

    // OUT_OF_SERVICE from the page reaches a gRPC subscriber as a push.
    const watcher = client(server.port);
    const events = record(watcher.watch$('orders'));
    await events.until((e: ServiceChangeEvent) => e.snapshot.hosts.length === 4, 'the subscriber sees four instances');
    await page.click(`${row(id('10.0.0.1', 8080))} button[data-action="oos"]`);
    const pushed = await events.until((e) => e.snapshot.hosts.some((h) => h.ip === '10.0.0.1' && h.status === 'OUT_OF_SERVICE'), 'OUT_OF_SERVICE pushed to the subscriber');
    expect(pushed.snapshot.hosts.find((h) => h.ip === '10.0.0.1')?.overriddenStatus).toBe('OUT_OF_SERVICE');
    await page.waitForSelector(`${row(id('10.0.0.1', 8080))} .override.oos`);
    expect(await page.locator(`${row(id('10.0.0.1', 8080))} button[data-action="oos"]`).innerText()).toBe('Back in service');

    // The service list was pushed the new count too.
    await page.locator('#services a.row[data-service="orders"] .num', { hasText: '4' }).waitFor();
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'console-service.png') });

    // And back in service, from the page again.
    await page.click(`${row(id('10.0.0.1', 8080))} button[data-action="oos"]`);
    await events.until((e) => e.snapshot.hosts.some((h) => h.ip === '10.0.0.1' && h.status === 'UP' && h.overriddenStatus === undefined), 'the override cleared, pushed');
    expect(await notReloaded()).toBe(true);
  });

  it(
    'with authentication on, asks for a login, then works with the token: the writer sees its namespace, the admin the node; a wrong password is refused',
    { timeout: 60_000 },
    async () => {
      const auth = await authFixture([
        { name: 'admin', password: 'admin-pw', roles: [{ namespace: '*', permission: 'admin' }] },
        { name: 'writer', password: 'writer-pw', roles: [{ namespace: 'public', permission: 'write' }] },
      ]);
      const server = await serve(['--auth-file', auth.path, '--merge-window-ms', '2']);
      const { http } = JSON.parse(await server.line(/herald is serving/, 'stderr')) as { http: string };
      const { page } = await browser();
      await page.goto(`http://${http}/`);
      await page.waitForSelector('#login:not([hidden])');
      await page.fill('#login-user', 'writer');
      await page.fill('#login-password', 'wrong');
      await page.click('#login button[type="submit"]');
      await page.locator('#login-error', { hasText: 'invalid credentials' }).waitFor();
      await page.fill('#login-password', 'writer-pw');
      await page.click('#login button[type="submit"]');
      await page.waitForSelector('#main:not([hidden])');
      expect(await page.locator('#user').innerText()).toBe('writer');
      expect(await page.locator('#namespace option').allInnerTexts()).toEqual(['public (0 services)']);
      await page.locator('#node', { hasText: 'need admin on every namespace' }).waitFor();
      await page.locator('#live', { hasText: 'live' }).waitFor();

      // The token stays in the tab: another user signs in after signing out and sees the node.
      await page.click('#logout');
      await page.waitForSelector('#login:not([hidden])');
      await page.fill('#login-user', 'admin');
      await page.fill('#login-password', 'admin-pw');
      await page.click('#login button[type="submit"]');
      await page.locator('#node .card', { hasText: 'Self-preservation' }).waitFor();
      expect(await page.locator('#user').innerText()).toBe('admin');
    },
  );
});
