/**
 * The auth matrix over the web console's API (issue #15): every console route × every caller
 * (no credentials, a wrong token, each user by Bearer token, Basic, or a console login's token), with
 * the exact status and body, and for each refusal the witness's proof that nothing changed. Reads
 * need read on the namespace, the node view needs admin of every namespace (the cluster view, as
 * ClusterService), actions need write with the registrant rule, as the gRPC calls they mirror.
 * Then what is not a row: the namespace list filtered by what each caller may read, the session,
 * the console login, the cross-site guard and the registrant rule; and with auth off, every route
 * served to anyone.
 */
import { describe, expect, it } from 'vitest';
import type { Permission } from '../../src/auth/permissions.js';
import type { NamespacesJson, SessionJson } from '../../src/console/protocol.js';
import { basic, DB, ORDERS, PASSWORDS, useMatrixNode, WRONG_TOKEN, type HttpAnswer, type Identity, type MatrixNode, type UserName } from '../support/auth-matrix.js';

interface Caller {
  readonly name: string;
  readonly as: Identity;
  readonly headers: (n: MatrixNode) => Promise<Record<string, string>>;
}

async function consoleLogin(n: MatrixNode, user: UserName): Promise<string> {
  const a = await n.http('POST', '/console/api/login', { body: { username: user, password: PASSWORDS[user] } });
  return (JSON.parse(a.text) as { token: string }).token;
}

const caller = (name: string, as: Identity, headers: (n: MatrixNode) => Record<string, string> | Promise<Record<string, string>>): Caller => ({
  name,
  as,
  headers: async (n) => headers(n),
});
const bearer = (n: MatrixNode, user: UserName): Record<string, string> => ({ authorization: `Bearer ${n.tokens[user] ?? ''}` });

const CALLERS: readonly Caller[] = [
  caller('anonymous', 'anonymous', () => ({})),
  caller('a wrong Bearer token', 'wrong token', () => ({ authorization: `Bearer ${WRONG_TOKEN}` })),
  caller('a wrong Basic password', 'wrong token', () => ({ authorization: basic('writer', 'not-the-password') })),
  caller('reader (Bearer)', 'reader', (n) => bearer(n, 'reader')),
  caller('other (Bearer)', 'other', (n) => bearer(n, 'other')),
  caller('writer (a console login)', 'writer', async (n) => ({ authorization: `Bearer ${await consoleLogin(n, 'writer')}` })),
  caller('writer (Basic)', 'writer', () => ({ authorization: basic('writer', PASSWORDS.writer) })),
  caller('admin (a console login)', 'admin', async (n) => ({ authorization: `Bearer ${await consoleLogin(n, 'admin')}` })),
];

interface Row {
  readonly route: string;
  readonly permission: Permission;
  readonly where: string;
  readonly admits: readonly Identity[];
  readonly prepare?: (n: MatrixNode) => void;
  readonly call: (n: MatrixNode, headers: Record<string, string>) => Promise<HttpAnswer>;
  readonly admitted: (n: MatrixNode, answer: HttpAnswer) => void;
}

const READERS: readonly Identity[] = ['reader', 'writer', 'admin'];
const WRITERS: readonly Identity[] = ['writer', 'admin'];
const ACTION = { 'x-herald-console': '1' };
const orders = { namespace: ORDERS.namespace, group: ORDERS.group, service: ORDERS.service, instanceId: ORDERS.instanceId };
const json = (a: HttpAnswer): Record<string, unknown> => JSON.parse(a.text) as Record<string, unknown>;

const get =
  (path: string, query: Record<string, string>) =>
  (n: MatrixNode, headers: Record<string, string>): Promise<HttpAnswer> =>
    n.http('GET', path, { query, headers });

/**
 * The event stream: its status and its first event. An admitted stream stays open: this closes it
 * and waits until the server has dropped its push subscription, so no later row sees its pushes.
 */
async function firstEvent(n: MatrixNode, headers: Record<string, string>): Promise<HttpAnswer> {
  const subscribers = n.server.hub.stats().subscribers;
  const abort = new AbortController();
  const res = await fetch(`http://127.0.0.1:${n.server.httpPort ?? 0}/console/api/events?namespace=public&service=orders`, { headers, signal: abort.signal });
  if (!res.ok || res.body === null) return { status: res.status, text: await res.text(), challenge: res.headers.get('www-authenticate') };
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let text = '';
  while (!text.includes('\n\n')) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
  }
  abort.abort();
  for (let i = 0; i < 2_000 && n.server.hub.stats().subscribers > subscribers; i++) await new Promise((r) => setTimeout(r, 5));
  expect(n.server.hub.stats().subscribers, 'the closed stream unsubscribed').toBe(subscribers);
  return { status: res.status, text: text.slice(0, text.indexOf('\n\n')), challenge: res.headers.get('www-authenticate') };
}

const ROWS: readonly Row[] = [
  {
    route: 'GET /console/api/services (namespace public)',
    permission: 'read',
    where: 'namespace public',
    admits: READERS,
    call: get('/console/api/services', { namespace: 'public' }),
    admitted: (_n, a) => {
      expect(a.status).toBe(200);
      expect(json(a).services).toContainEqual(expect.objectContaining({ name: 'orders', instances: 1 }));
    },
  },
  {
    route: 'GET /console/api/services (namespace prod)',
    permission: 'read',
    where: 'namespace prod',
    admits: ['other', 'admin'],
    call: get('/console/api/services', { namespace: DB.namespace }),
    admitted: (_n, a) => {
      expect(a.status).toBe(200);
      expect(json(a).services).toEqual([expect.objectContaining({ name: 'db' })]);
    },
  },
  {
    route: 'GET /console/api/service (orders)',
    permission: 'read',
    where: 'namespace public',
    admits: READERS,
    call: get('/console/api/service', { namespace: 'public', service: 'orders' }),
    admitted: (_n, a) => {
      expect(a.status).toBe(200);
      expect(json(a).instances).toEqual([expect.objectContaining({ id: ORDERS.instanceId })]);
    },
  },
  {
    route: 'GET /console/api/events (orders)',
    permission: 'read',
    where: 'namespace public',
    admits: READERS,
    call: firstEvent,
    admitted: (_n, a) => {
      expect(a.status).toBe(200);
      expect(a.text).toMatch(/^event: service\ndata: \{"namespace":"public","group":"DEFAULT_GROUP","name":"orders"/);
    },
  },
  {
    route: 'GET /console/api/node (the cluster view)',
    permission: 'admin',
    where: 'every namespace',
    admits: ['admin'],
    call: get('/console/api/node', {}),
    admitted: (_n, a) => {
      expect(a.status).toBe(200);
      expect(json(a)).toMatchObject({ selfPreservation: { enabled: true }, peers: [] });
    },
  },
  {
    route: 'PUT /console/api/instance/status (OUT_OF_SERVICE)',
    permission: 'write',
    where: 'namespace public',
    admits: WRITERS,
    call: (n, headers) => n.http('PUT', '/console/api/instance/status', { headers: { ...headers, ...ACTION }, body: { ...orders, status: 'OUT_OF_SERVICE' } }),
    admitted: (n, a) => {
      expect(a.status).toBe(200);
      expect(n.server.registry.getInstance(ORDERS).record.overriddenStatus).toBe('OUT_OF_SERVICE');
    },
  },
  {
    route: 'DELETE /console/api/instance/status (clear the override)',
    permission: 'write',
    where: 'namespace public',
    admits: WRITERS,
    prepare: (n) => {
      n.server.registry.setStatus({ ...ORDERS, status: 'OUT_OF_SERVICE' });
    },
    call: (n, headers) => n.http('DELETE', '/console/api/instance/status', { headers: { ...headers, ...ACTION }, body: orders }),
    admitted: (n, a) => {
      expect(a.status).toBe(200);
      expect(n.server.registry.getInstance(ORDERS).record).toMatchObject({ status: 'UP', overriddenStatus: undefined });
    },
  },
  {
    route: 'DELETE /console/api/instance (deregister)',
    permission: 'write',
    where: 'namespace public',
    admits: WRITERS,
    call: (n, headers) => n.http('DELETE', '/console/api/instance', { headers: { ...headers, ...ACTION }, body: orders }),
    admitted: (n, a) => {
      expect(a.status).toBe(200);
      expect(n.server.registry.hasInstance(ORDERS)).toBe(false);
    },
  },
];

function reason(who: Identity, permission: Permission, where: string): string {
  if (who === 'anonymous') return `authentication required: ${permission} on ${where} needs credentials`;
  if (who === 'wrong token') return 'invalid credentials';
  return `${who} lacks ${permission} permission on ${where}`;
}

/** The console's refusal: 401 with a Bearer challenge (no Basic: browsers would pop up a dialog), or 403; a JSON error. */
function refusal(who: Identity, message: string): HttpAnswer {
  const unauthenticated = who === 'anonymous' || who === 'wrong token';
  return { status: unauthenticated ? 401 : 403, text: JSON.stringify({ error: message }), challenge: unauthenticated ? 'Bearer realm="herald"' : null };
}

function fresh(n: MatrixNode, r?: Row): void {
  n.seed();
  r?.prepare?.(n);
  n.clock.advance(1);
}

describe('console auth matrix: routes × callers (auth on)', () => {
  const node = useMatrixNode({ auth: true });

  describe.each(ROWS)('$route', (r) => {
    it.each(CALLERS)('as $name', async (c) => {
      const n = node();
      fresh(n, r);
      const headers = await c.headers(n);
      if (r.admits.includes(c.as)) {
        r.admitted(n, await r.call(n, headers));
      } else {
        expect(await n.witness.unchangedBy(() => r.call(n, headers))).toEqual(refusal(c.as, reason(c.as, r.permission, r.where)));
      }
    });
  });

  it('lists only the namespaces each caller may read; without credentials, none (401)', async () => {
    const n = node();
    fresh(n);
    const names = async (headers: Record<string, string>): Promise<unknown> => {
      const a = await n.http('GET', '/console/api/namespaces', { headers });
      return a.status === 200 ? (JSON.parse(a.text) as NamespacesJson).namespaces.map((ns) => ns.name) : a.status;
    };
    expect(await names({})).toBe(401);
    expect(await names({ authorization: `Bearer ${WRONG_TOKEN}` })).toBe(401);
    expect(await names(bearer(n, 'reader'))).toEqual(['public']);
    expect(await names(bearer(n, 'other'))).toEqual(['prod']);
    expect(await names(bearer(n, 'writer'))).toEqual(['public']);
    expect(await names(bearer(n, 'admin'))).toEqual(['prod', 'public']);
  });

  it('says who is asking: anonymous (so the page asks for a login), a user with or without the cluster view, 401 for wrong credentials', async () => {
    const n = node();
    const session = async (headers: Record<string, string>): Promise<SessionJson | number> => {
      const a = await n.http('GET', '/console/api/session', { headers });
      return a.status === 200 ? (JSON.parse(a.text) as SessionJson) : a.status;
    };
    expect(await session({})).toEqual({ auth: true, user: 'anonymous', clusterView: false });
    expect(await session({ authorization: `Bearer ${WRONG_TOKEN}` })).toBe(401);
    expect(await session(bearer(n, 'reader'))).toEqual({ auth: true, user: 'reader', clusterView: false });
    expect(await session(bearer(n, 'admin'))).toEqual({ auth: true, user: 'admin', clusterView: true });
  });

  it('logs in with a user name and password (a token for the console), 401 for a wrong password; nothing changes', async () => {
    const n = node();
    fresh(n);
    const ok = await n.witness.unchangedBy(() => n.http('POST', '/console/api/login', { body: { username: 'reader', password: PASSWORDS.reader } }));
    expect(ok.status).toBe(200);
    expect(json(ok)).toMatchObject({ user: 'reader', ttlMs: 18_000_000 });
    const wrong = await n.witness.unchangedBy(() => n.http('POST', '/console/api/login', { body: { username: 'reader', password: 'nope' } }));
    expect([wrong.status, json(wrong)]).toEqual([401, { error: 'invalid credentials' }]);
  });

  it('refuses an admin action without the console header (a forged cross-site request), changing nothing', async () => {
    const n = node();
    fresh(n);
    const admin = bearer(n, 'admin');
    const a = await n.witness.unchangedBy(() => n.http('DELETE', '/console/api/instance', { headers: admin, body: orders }));
    expect([a.status, json(a)]).toEqual([403, { error: 'console actions need the x-herald-console: 1 header' }]);
  });

  it("keeps the registrant rule: a writer of the namespace may not take another's instance out of service", async () => {
    const n = node();
    fresh(n);
    const a = await n.witness.unchangedBy(() =>
      n.http('PUT', '/console/api/instance/status', { headers: { ...bearer(n, 'rival'), ...ACTION }, body: { ...orders, status: 'OUT_OF_SERVICE' } }),
    );
    expect(a.status).toBe(403);
    expect(json(a).error).toMatch(/was registered by writer; rival may not change it/);
  });
});

describe('console with auth off (the default config): every route served to anyone', () => {
  const node = useMatrixNode({ auth: false });

  it.each(ROWS)('$route as anonymous', async (r) => {
    const n = node();
    fresh(n, r);
    r.admitted(n, await r.call(n, {}));
  });
});
