/**
 * The auth matrix over HTTP (issue #12): every Nacos, Eureka and Consul route × every caller and each
 * credential form (Nacos: accessToken parameter or header, a login's token, username and password
 * parameters, Authorization; Eureka and Prometheus SD: Basic and Bearer; Consul: X-Consul-Token, the token parameter and Bearer), with the exact status and body, and for
 * each refusal the witness's proof that nothing changed; Nacos logins; each route served as before
 * with auth off; /metrics (read on every namespace, or open with --metrics-auth off) and the health
 * probes (open). The attacks over HTTP and UDP push targets are auth-matrix-http-attacks.test.ts.
 */
import { describe, expect, it } from 'vitest';
import type { Permission } from '../../src/auth/permissions.js';
import {
  basic,
  nacosLogin,
  PASSWORDS,
  ORDERS,
  PAYMENTS,
  STOCK,
  useMatrixNode,
  WRONG_TOKEN,
  type HttpAnswer,
  type Identity,
  type MatrixNode,
  type UserName,
} from '../support/auth-matrix.js';
import { eurekaInstanceInfo, eurekaInstanceXml } from '../support/eureka.js';
import { registrationFromConsul } from '../../src/server/consul/consul-codec.js';

/** Credentials as a request carries them: parameters and headers. */
interface Creds {
  readonly query?: Readonly<Record<string, string>>;
  readonly headers?: Readonly<Record<string, string>>;
}

/** A caller: whose permissions its credentials carry, and how it sends them. */
interface Caller {
  readonly name: string;
  readonly as: Identity;
  readonly creds: (n: MatrixNode) => Promise<Creds>;
}

const caller = (name: string, as: Identity, creds: (n: MatrixNode) => Creds | Promise<Creds>): Caller => ({ name, as, creds: async (n) => creds(n) });
const token = (n: MatrixNode, user: UserName): string => n.tokens[user] ?? '';

const NACOS_CALLERS: readonly Caller[] = [
  caller('anonymous', 'anonymous', () => ({})),
  caller('a wrong accessToken', 'wrong token', () => ({ query: { accessToken: WRONG_TOKEN } })),
  caller('a wrong password', 'wrong token', () => ({ query: { username: 'writer', password: 'not-the-password' } })),
  caller('reader (accessToken parameter)', 'reader', (n) => ({ query: { accessToken: token(n, 'reader') } })),
  caller('other (username and password)', 'other', () => ({ query: { username: 'other', password: PASSWORDS.other } })),
  caller('writer (username and password)', 'writer', () => ({ query: { username: 'writer', password: PASSWORDS.writer } })),
  caller('writer (accessToken from a login)', 'writer', async (n) => ({ query: { accessToken: await nacosLogin(n, 'writer') } })),
  caller('writer (Authorization: Bearer)', 'writer', (n) => ({ headers: { authorization: `Bearer ${token(n, 'writer')}` } })),
  caller('admin (accessToken header from a login)', 'admin', async (n) => ({ headers: { accesstoken: await nacosLogin(n, 'admin') } })),
];

const EUREKA_CALLERS: readonly Caller[] = [
  caller('anonymous', 'anonymous', () => ({})),
  caller('a wrong Bearer token', 'wrong token', () => ({ headers: { authorization: `Bearer ${WRONG_TOKEN}` } })),
  caller('a wrong Basic password', 'wrong token', () => ({ headers: { authorization: basic('writer', 'not-the-password') } })),
  caller('reader (Basic)', 'reader', () => ({ headers: { authorization: basic('reader', PASSWORDS.reader) } })),
  caller('other (Bearer)', 'other', (n) => ({ headers: { authorization: `Bearer ${token(n, 'other')}` } })),
  caller('writer (Basic)', 'writer', () => ({ headers: { authorization: basic('writer', PASSWORDS.writer) } })),
  caller('writer (Bearer)', 'writer', (n) => ({ headers: { authorization: `Bearer ${token(n, 'writer')}` } })),
  caller('admin (Basic)', 'admin', () => ({ headers: { authorization: basic('admin', PASSWORDS.admin) } })),
];

/** One route: what it needs, who it admits, how to call it, and what an admitted call answered and did. */
interface Row {
  readonly route: string;
  readonly permission: Permission;
  /** `namespace public`, `namespace prod` or `every namespace`, as refusals name it. */
  readonly where: string;
  readonly admits: readonly Identity[];
  readonly prepare?: (n: MatrixNode) => void;
  readonly call: (n: MatrixNode, creds: Creds) => Promise<HttpAnswer>;
  readonly admitted: (n: MatrixNode, answer: HttpAnswer) => void;
}

/** Why a caller is refused, in the decision's words. */
function reason(who: Identity, permission: Permission, where: string): string {
  if (who === 'anonymous') return `authentication required: ${permission} on ${where} needs credentials`;
  if (who === 'wrong token') return 'invalid credentials';
  return `${who} lacks ${permission} permission on ${where}`;
}

const READERS: readonly Identity[] = ['reader', 'writer', 'admin'];
const WRITERS: readonly Identity[] = ['writer', 'admin'];

const lease = (n: MatrixNode, ref: typeof PAYMENTS) => n.server.registry.getInstance(ref);
const body = (a: HttpAnswer) => JSON.parse(a.text) as Record<string, unknown>;

// ------------------------------------------------------------------ Nacos

function nacos(method: string, path: string, params: Record<string, string>) {
  return (n: MatrixNode, c: Creds) => n.http(method, `/nacos/v1${path}`, { query: { ...params, ...c.query }, ...(c.headers === undefined ? {} : { headers: c.headers }) });
}

const stock = { serviceName: 'stock', ip: STOCK.ip, port: String(STOCK.port) };
const inPublic = { permission: 'write', where: 'namespace public', admits: WRITERS } as const;
const readPublic = { permission: 'read', where: 'namespace public', admits: READERS } as const;

const NACOS_ROWS: readonly Row[] = [
  {
    route: 'POST /nacos/v1/ns/instance (register)',
    ...inPublic,
    call: nacos('POST', '/ns/instance', { ...stock, weight: '5' }),
    admitted: (n, a) => {
      expect([a.status, a.text]).toEqual([200, 'ok']);
      expect(lease(n, STOCK).record.weight).toBe(5);
    },
  },
  {
    route: 'DELETE /nacos/v1/ns/instance (deregister)',
    ...inPublic,
    call: nacos('DELETE', '/ns/instance', stock),
    admitted: (n, a) => {
      expect([a.status, a.text]).toEqual([200, 'ok']);
      expect(n.server.registry.hasInstance(STOCK)).toBe(false);
    },
  },
  {
    route: 'PUT /nacos/v1/ns/instance/beat',
    ...inPublic,
    call: nacos('PUT', '/ns/instance/beat', stock),
    admitted: (n, a) => {
      expect([a.status, body(a).code]).toEqual([200, 10200]);
      expect(lease(n, STOCK).lastRenewalMs).toBe(n.clock.nowMs());
    },
  },
  {
    route: 'GET /nacos/v1/ns/instance/list',
    ...readPublic,
    call: nacos('GET', '/ns/instance/list', { serviceName: 'stock' }),
    admitted: (_n, a) => {
      expect(a.status).toBe(200);
      expect(body(a).hosts).toEqual([expect.objectContaining({ ip: STOCK.ip })]);
    },
  },
  {
    route: 'GET /nacos/v1/ns/service/list',
    ...readPublic,
    call: nacos('GET', '/ns/service/list', { pageNo: '1', pageSize: '100' }),
    admitted: (_n, a) => {
      expect(a.status).toBe(200);
      expect(body(a).doms).toContain('stock');
    },
  },
  {
    route: 'GET /nacos/v1/ns/operator/metrics (read on every namespace)',
    permission: 'read',
    where: 'every namespace',
    admits: ['admin'],
    call: nacos('GET', '/ns/operator/metrics', {}),
    admitted: (_n, a) => {
      expect([a.status, body(a).status]).toEqual([200, 'UP']);
    },
  },
  {
    route: 'POST /nacos/v1/ns/instance with namespaceId=prod',
    permission: 'write',
    where: 'namespace prod',
    admits: ['other', 'admin'],
    call: nacos('POST', '/ns/instance', { namespaceId: 'prod', serviceName: 'db', ip: '10.1.0.2', port: '5432' }),
    admitted: (n, a) => {
      expect([a.status, a.text]).toEqual([200, 'ok']);
      expect(n.server.registry.query({ namespace: 'prod', service: 'db' }).hosts.map((h) => h.ip)).toContain('10.1.0.2');
    },
  },
  {
    route: 'GET /nacos/v1/ns/instance/list with namespaceId=prod',
    permission: 'read',
    where: 'namespace prod',
    admits: ['other', 'admin'],
    call: nacos('GET', '/ns/instance/list', { namespaceId: 'prod', serviceName: 'db' }),
    admitted: (_n, a) => {
      expect(a.status).toBe(200);
      expect(a.text).toContain('dbPassword');
    },
  },
];

// ------------------------------------------------------------------ Eureka

function eureka(method: string, path: string, extra: { query?: Record<string, string>; body?: unknown; xml?: string; headers?: Record<string, string> } = {}) {
  return (n: MatrixNode, c: Creds) => n.http(method, path, { ...extra, headers: { ...extra.headers, ...c.headers } });
}

const readEureka = (path: string): Row => ({
  route: `GET ${path}`,
  ...readPublic,
  call: eureka('GET', path),
  admitted: (_n, a) => {
    expect(a.status).toBe(200);
    expect(a.text).toContain('p-1');
  },
});

const EUREKA_ROWS: readonly Row[] = [
  {
    route: 'POST /eureka/apps/PAYMENTS (register)',
    ...inPublic,
    call: eureka('POST', '/eureka/apps/PAYMENTS', { body: { instance: eurekaInstanceInfo('PAYMENTS', 'p-1', { ipAddr: '10.0.0.66' }) } }),
    admitted: (n, a) => {
      expect(a.status).toBe(204);
      expect(lease(n, PAYMENTS).record.ip).toBe('10.0.0.66');
    },
  },
  {
    route: 'PUT /eureka/apps/PAYMENTS/p-1 (renew)',
    ...inPublic,
    call: eureka('PUT', '/eureka/apps/PAYMENTS/p-1'),
    admitted: (n, a) => {
      expect(a.status).toBe(200);
      expect(lease(n, PAYMENTS).lastRenewalMs).toBe(n.clock.nowMs());
    },
  },
  {
    route: 'DELETE /eureka/apps/PAYMENTS/p-1 (cancel)',
    ...inPublic,
    call: eureka('DELETE', '/eureka/apps/PAYMENTS/p-1'),
    admitted: (n, a) => {
      expect(a.status).toBe(200);
      expect(n.server.registry.hasInstance(PAYMENTS)).toBe(false);
    },
  },
  {
    route: 'PUT /eureka/apps/PAYMENTS/p-1/status',
    ...inPublic,
    call: eureka('PUT', '/eureka/apps/PAYMENTS/p-1/status', { query: { value: 'OUT_OF_SERVICE' } }),
    admitted: (n, a) => {
      expect(a.status).toBe(200);
      expect(lease(n, PAYMENTS).record.status).toBe('OUT_OF_SERVICE');
    },
  },
  {
    route: 'DELETE /eureka/apps/PAYMENTS/p-1/status',
    ...inPublic,
    prepare: (n) => {
      n.server.registry.setStatus({ ...PAYMENTS, status: 'OUT_OF_SERVICE' });
    },
    call: eureka('DELETE', '/eureka/apps/PAYMENTS/p-1/status'),
    admitted: (n, a) => {
      expect(a.status).toBe(200);
      expect(lease(n, PAYMENTS).record.overriddenStatus).toBeUndefined();
    },
  },
  {
    route: 'PUT /eureka/apps/PAYMENTS/p-1/metadata',
    ...inPublic,
    call: eureka('PUT', '/eureka/apps/PAYMENTS/p-1/metadata', { query: { tier: 'gold' } }),
    admitted: (n, a) => {
      expect(a.status).toBe(200);
      expect(lease(n, PAYMENTS).record.metadata.tier).toBe('gold');
    },
  },
  {
    route: 'DELETE /eureka/v2/apps/PAYMENTS/p-1 (cancel, v2 path)',
    ...inPublic,
    call: eureka('DELETE', '/eureka/v2/apps/PAYMENTS/p-1'),
    admitted: (n, a) => {
      expect(a.status).toBe(200);
      expect(n.server.registry.hasInstance(PAYMENTS)).toBe(false);
    },
  },
  readEureka('/eureka/apps'),
  readEureka('/eureka/apps/delta'),
  readEureka('/eureka/apps/PAYMENTS'),
  readEureka('/eureka/apps/PAYMENTS/p-1'),
  readEureka('/eureka/instances/p-1'),
  readEureka('/eureka/vips/payments.vip'),
  readEureka('/eureka/svips/payments.vip'),
  readEureka('/eureka/v2/apps'),
  {
    route: 'POST /eureka/apps/PAYMENTS (register, XML body)',
    ...inPublic,
    call: eureka('POST', '/eureka/apps/PAYMENTS', { xml: eurekaInstanceXml('PAYMENTS', 'p-1', '', '10.0.0.67') }),
    admitted: (n, a) => {
      expect(a.status).toBe(204);
      expect(lease(n, PAYMENTS).record.ip).toBe('10.0.0.67');
    },
  },
  {
    route: 'GET /eureka/apps (XML, no Accept header)',
    ...readPublic,
    call: eureka('GET', '/eureka/apps', { headers: { accept: '' } }),
    admitted: (_n, a) => {
      expect(a.status).toBe(200);
      expect(a.text).toContain('<instanceId>p-1</instanceId>');
    },
  },
];

// ------------------------------------------------------------------ Prometheus HTTP SD

const SD_ROWS: readonly Row[] = [
  {
    route: 'GET /prometheus/sd',
    ...readPublic,
    call: eureka('GET', '/prometheus/sd'),
    admitted: (_n, a) => {
      expect(a.status).toBe(200);
      expect(a.text).toContain('"__meta_herald_service":"PAYMENTS"');
      expect(a.text).not.toContain('hunter2');
    },
  },
  {
    route: 'GET /prometheus/sd?namespace=prod',
    permission: 'read',
    where: 'namespace prod',
    admits: ['other', 'admin'],
    call: eureka('GET', '/prometheus/sd', { query: { namespace: 'prod' } }),
    admitted: (_n, a) => {
      expect(a.status).toBe(200);
      expect(a.text).toContain('"__meta_herald_service":"db"');
    },
  },
];

// ------------------------------------------------------------------ monitoring

/** /metrics counts every namespace: it needs read on every namespace (Prometheus sends Basic or Bearer). */
const METRICS_ROWS: readonly Row[] = [
  {
    route: 'GET /metrics',
    permission: 'read',
    where: 'every namespace',
    admits: ['admin'],
    call: (n, c) => n.http('GET', '/metrics', c.headers === undefined ? {} : { headers: c.headers }),
    admitted: (_n, a) => {
      expect(a.status).toBe(200);
      expect(a.text).toMatch(/^herald_instances\{namespace="prod"\} 1$/m);
    },
  },
];

// ------------------------------------------------------------------ Consul

const CONSUL_CALLERS: readonly Caller[] = [
  caller('anonymous', 'anonymous', () => ({})),
  caller('a wrong X-Consul-Token', 'wrong token', () => ({ headers: { 'x-consul-token': WRONG_TOKEN } })),
  caller('reader (X-Consul-Token)', 'reader', (n) => ({ headers: { 'x-consul-token': token(n, 'reader') } })),
  caller('other (token parameter)', 'other', (n) => ({ query: { token: token(n, 'other') } })),
  caller('writer (Authorization: Bearer)', 'writer', (n) => ({ headers: { authorization: `Bearer ${token(n, 'writer')}` } })),
  caller('writer (X-Consul-Token)', 'writer', (n) => ({ headers: { 'x-consul-token': token(n, 'writer') } })),
  caller('admin (token parameter)', 'admin', (n) => ({ query: { token: token(n, 'admin') } })),
];

function consul(method: string, path: string, extra: { body?: unknown } = {}) {
  return (n: MatrixNode, c: Creds) =>
    n.http(method, path, { ...extra, ...(c.query === undefined ? {} : { query: c.query }), ...(c.headers === undefined ? {} : { headers: c.headers }) });
}

/** A Consul service with a passing TTL check, registered before a check row. */
const CART = { namespace: 'public', group: 'DEFAULT_GROUP', service: 'cart', instanceId: 'cart-1' } as const;
const prepareCart = (n: MatrixNode): void => {
  const { input } = registrationFromConsul(
    { Name: 'cart', ID: 'cart-1', Address: '10.0.0.8', Port: 80, Check: { TTL: '30s', Status: 'passing' } },
    { namespace: 'public', callerAddress: '127.0.0.1', defaultLeaseMs: 90_000 },
  );
  n.server.registry.register(input);
};

const readConsul = (path: string, contains: string, status = 200): Row => ({
  route: `GET ${path}`,
  ...readPublic,
  call: consul('GET', path),
  admitted: (_n, a) => {
    expect(a.status).toBe(status);
    expect(a.text).toContain(contains);
  },
});

const CONSUL_ROWS: readonly Row[] = [
  {
    route: 'PUT /v1/agent/service/register',
    ...inPublic,
    call: consul('PUT', '/v1/agent/service/register', { body: { Name: 'cart', ID: 'cart-1', Address: '10.0.0.8', Port: 80 } }),
    admitted: (n, a) => {
      expect(a.status).toBe(200);
      expect(n.server.registry.hasInstance(CART)).toBe(true);
    },
  },
  {
    route: 'PUT /v1/agent/service/deregister/o-1',
    ...inPublic,
    call: consul('PUT', '/v1/agent/service/deregister/o-1'),
    admitted: (n, a) => {
      expect(a.status).toBe(200);
      expect(n.server.registry.hasInstance(ORDERS)).toBe(false);
    },
  },
  {
    route: 'PUT /v1/agent/check/pass/service:cart-1',
    ...inPublic,
    prepare: prepareCart,
    call: consul('PUT', '/v1/agent/check/pass/service:cart-1'),
    admitted: (n, a) => {
      expect(a.status).toBe(200);
      expect(n.server.registry.getInstance(CART).lastRenewalMs).toBe(n.clock.nowMs());
    },
  },
  {
    route: 'PUT /v1/agent/check/fail/service:cart-1',
    ...inPublic,
    prepare: prepareCart,
    call: consul('PUT', '/v1/agent/check/fail/service:cart-1'),
    admitted: (n, a) => {
      expect(a.status).toBe(200);
      expect(n.server.registry.getInstance(CART).record.healthy).toBe(false);
    },
  },
  readConsul('/v1/health/service/orders', 'o-1'),
  readConsul('/v1/catalog/service/orders', 'o-1'),
  readConsul('/v1/catalog/services', 'orders'),
  readConsul('/v1/agent/services', 'o-1'),
  readConsul('/v1/agent/checks', 'service:o-1'),
  readConsul('/v1/kv/config', 'KV', 501),
];

// ------------------------------------------------------------------ the matrix

const CHALLENGE = 'Basic realm="herald", charset="UTF-8"';

/** A refusal as each API answers it: Nacos 403 always; Eureka 401 with a challenge, or 403. */
const REFUSAL = {
  nacos: (_who: Identity, message: string) => ({ status: 403, text: `caused: ${message};`, challenge: null }),
  eureka: (who: Identity, message: string) =>
    who === 'anonymous' || who === 'wrong token' ? { status: 401, text: message, challenge: CHALLENGE } : { status: 403, text: message, challenge: null },
  sd: (who: Identity, message: string) =>
    who === 'anonymous' || who === 'wrong token' ? { status: 401, text: message, challenge: 'Bearer realm="herald"' } : { status: 403, text: message, challenge: null },
  consul: (who: Identity, message: string) => ({
    status: 403,
    text: who === 'anonymous' || who === 'wrong token' ? `ACL not found: ${message}` : `Permission denied: ${message}`,
    challenge: null,
  }),
};

/** Seeds the canonical registry, prepares the row's target, then moves the clock so a renewal shows. */
function fresh(n: MatrixNode, r?: Row): void {
  n.seed();
  r?.prepare?.(n);
  n.clock.advance(1);
}

describe.each([
  ['Nacos', NACOS_ROWS, NACOS_CALLERS, REFUSAL.nacos],
  ['Eureka', EUREKA_ROWS, EUREKA_CALLERS, REFUSAL.eureka],
  ['Metrics', METRICS_ROWS, EUREKA_CALLERS, REFUSAL.eureka],
  ['Prometheus SD', SD_ROWS, EUREKA_CALLERS, REFUSAL.sd],
  ['Consul', CONSUL_ROWS, CONSUL_CALLERS, REFUSAL.consul],
] as const)('%s auth matrix: routes × callers (auth on)', (_api, rows, callers, refusal) => {
  const node = useMatrixNode({ auth: true });

  describe.each(rows)('$route', (r) => {
    it.each(callers)('as $name', async (c) => {
      const n = node();
      fresh(n, r);
      const creds = await c.creds(n);
      if (r.admits.includes(c.as)) {
        r.admitted(n, await r.call(n, creds));
      } else {
        const answer = await n.witness.unchangedBy(() => r.call(n, creds));
        expect(answer).toEqual(refusal(c.as, reason(c.as, r.permission, r.where)));
      }
    });
  });
});

describe('Nacos login (open to every caller)', () => {
  const node = useMatrixNode({ auth: true });

  it.each(['/nacos/v1/auth/login', '/nacos/v1/auth/users/login'])(
    '%s answers an access token and its TTL for a right password, 403 for a wrong one or an unknown user',
    async (path) => {
      const n = node();
      fresh(n);
      const ok = await n.http('POST', path, { form: { username: 'admin', password: PASSWORDS.admin } });
      expect(ok.status).toBe(200);
      expect(body(ok)).toMatchObject({ tokenTtl: 18_000, globalAdmin: true, username: 'admin' });
      const writer = await n.http('POST', path, { query: { username: 'writer', password: PASSWORDS.writer } });
      expect(body(writer)).toMatchObject({ globalAdmin: false, username: 'writer' });
      for (const form of [
        { username: 'writer', password: 'nope' },
        { username: 'nobody', password: 'nope' },
      ]) {
        expect(await n.witness.unchangedBy(() => n.http('POST', path, { form }))).toEqual({ status: 403, text: 'caused: invalid credentials;', challenge: null });
      }
    },
  );
});

describe('HTTP with auth off (the default config): every route served as before', () => {
  const node = useMatrixNode({ auth: false });

  it.each([...NACOS_ROWS, ...EUREKA_ROWS, ...METRICS_ROWS, ...SD_ROWS, ...CONSUL_ROWS])('$route as anonymous', async (r) => {
    const n = node();
    fresh(n, r);
    r.admitted(n, await r.call(n, {}));
  });

  it('Nacos login says authentication is off (403)', async () => {
    const n = node();
    expect(await n.http('POST', '/nacos/v1/auth/login', { form: { username: 'admin', password: PASSWORDS.admin } })).toEqual({
      status: 403,
      text: 'caused: authentication is off on this server: calls need no token;',
      challenge: null,
    });
  });
});

describe('health probes with auth on: open to every caller, telling nothing but up or ready', () => {
  const node = useMatrixNode({ auth: true });

  it.each(EUREKA_CALLERS)('/livez and /readyz as $name', async (c) => {
    const n = node();
    const creds = await c.creds(n);
    const req = creds.headers === undefined ? {} : { headers: creds.headers };
    expect(await n.witness.unchangedBy(() => n.http('GET', '/livez', req))).toEqual({ status: 200, text: 'ok\n', challenge: null });
    expect(await n.witness.unchangedBy(() => n.http('GET', '/readyz', req))).toEqual({ status: 200, text: 'ready\n', challenge: null });
  });
});

describe('/metrics with auth on and --metrics-auth off: open to every caller', () => {
  const node = useMatrixNode({ auth: true, config: { metricsAuth: false } });

  it.each(EUREKA_CALLERS)('as $name', async (c) => {
    const n = node();
    fresh(n);
    const creds = await c.creds(n);
    METRICS_ROWS[0]?.admitted(n, await n.witness.unchangedBy(() => n.http('GET', '/metrics', creds.headers === undefined ? {} : { headers: creds.headers })));
  });
});
