/**
 * The web console on the HTTP port: the page at `/` with its assets, a JSON API for what it shows
 * (namespaces, services, one service's instances, the node and its peers), an event stream that
 * keeps the page live (console-feed.ts), and the instance actions (set and clear an overridden
 * status, deregister). Every route asks the one access decision: reads need read on the namespace,
 * the node view needs the cluster view (as ClusterService does), actions need write on the
 * namespace with the registrant rule, as the gRPC SetStatus, DeleteStatusOverride and Cancel do.
 * Credentials come only in the Authorization header (the page keeps a bearer token; nothing rides
 * on cookies), and actions must carry the x-herald-console header, so a cross-site page can neither
 * borrow a session nor forge an action. Errors go through one table below.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AccessControl, Admission } from '../../auth/access-control.js';
import type { Clock } from '../../core/clock.js';
import { RegistryError, type RegistryErrorCode } from '../../core/errors.js';
import { DEFAULT_GROUP, DEFAULT_NAMESPACE, type ServiceRef } from '../../core/model.js';
import type { Registry } from '../../core/registry.js';
import type { Logger } from '../../common/logger.js';
import type { Timers } from '../../common/timers.js';
import { ACTION_HEADER, type ErrorJson, type InstanceActionJson, type LoginJson, type NamespacesJson, type NodeJson, type SessionJson } from '../../console/protocol.js';
import type { PushHub } from '../../push/push-hub.js';
import type { DurableReplies } from '../durable-replies.js';
import { httpCredentials } from '../http-auth.js';
import { DEFAULT_CONSOLE_ASSETS_DIR, loadConsoleAssets } from './console-assets.js';
import { ConsoleFeed, DEFAULT_CONSOLE_FEED_OPTIONS, servicesJson, type ConsoleFeedOptions } from './console-feed.js';
import { instanceJson, serviceJson } from './console-json.js';

/** The console's HTTP statuses for the registry's errors. */
const CONSOLE_STATUS_OF: Readonly<Record<RegistryErrorCode, number>> = {
  INVALID_ARGUMENT: 400,
  NOT_FOUND: 404,
  CONFLICT: 409,
  LIMIT_EXCEEDED: 429,
  PERMISSION_DENIED: 403,
};

/** What the page may be framed by, load and connect to: itself only. */
const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export type ConsoleRegistry = Pick<Registry, 'onServiceChanged' | 'listServices' | 'query' | 'namespaceNames' | 'setStatus' | 'deleteStatusOverride' | 'cancel'>;

export interface ConsoleApiDeps {
  readonly registry: ConsoleRegistry;
  readonly hub: Pick<PushHub, 'subscribe'>;
  readonly access: AccessControl;
  readonly clock: Clock;
  readonly timers: Timers;
  readonly logger: Logger;
  /** The node's status and peers now. */
  readonly node: () => NodeJson;
  /** Where the built page is (default: the package's dist/console-page). */
  readonly assetsDir?: string;
  readonly feed?: Partial<ConsoleFeedOptions>;
  /** Holds the answer to an action that wrote a persistent instance until the store has it on disk. */
  readonly durable?: Pick<DurableReplies, 'mark'>;
}

type Refusal = Extract<Admission, { ok: false }>;

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function stringsOf(v: unknown): Record<string, string> {
  return typeof v === 'object' && v !== null ? Object.fromEntries(Object.entries(v).filter((e): e is [string, string] => typeof e[1] === 'string')) : {};
}

function fail(reply: FastifyReply, code: number, error: string): FastifyReply {
  const body: ErrorJson = { error };
  return reply.code(code).header('cache-control', 'no-store').send(body);
}

/** A refusal: 401 with a Bearer challenge (no Basic: browsers would pop up a dialog), or 403. */
function refuse(reply: FastifyReply, a: Refusal): FastifyReply {
  if (!a.authenticated) void reply.header('www-authenticate', 'Bearer realm="herald"');
  return fail(reply, a.authenticated ? 403 : 401, a.message);
}

/** Why an action request may come from another site, or undefined when it carries the console's header from this origin. */
function crossSite(headers: IncomingHttpHeaders): string | undefined {
  if (header(headers, ACTION_HEADER) !== '1') return `console actions need the ${ACTION_HEADER}: 1 header`;
  const site = header(headers, 'sec-fetch-site');
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return 'console actions are refused from other sites';
  return undefined;
}

/** The namespace a request names (the default one when it names none). */
function namespaceOf(p: Readonly<Record<string, string>>): string {
  const ns = p.namespace;
  return ns === undefined || ns === '' ? DEFAULT_NAMESPACE : ns;
}

/** The service a request names, or undefined when it names none. */
function serviceOf(p: Readonly<Record<string, string>>): ServiceRef | undefined {
  const service = p.service;
  if (service === undefined || service === '') return undefined;
  return { namespace: namespaceOf(p), group: p.group === undefined || p.group === '' ? DEFAULT_GROUP : p.group, service };
}

/**
 * Registers the console's routes; returns the feed of its event streams (closed with the server).
 * Without a built page the API still works and `/` says how to build it.
 */
export function registerConsoleRoutes(app: FastifyInstance, deps: ConsoleApiDeps): ConsoleFeed {
  const { registry, access, logger, clock } = deps;
  const assetsDir = deps.assetsDir ?? DEFAULT_CONSOLE_ASSETS_DIR;
  const assets = loadConsoleAssets(assetsDir);
  if (assets === undefined) logger.warn({ assetsDir }, 'console page not built (run `npm run build`); its API is served');
  const feed = new ConsoleFeed({
    registry,
    hub: deps.hub,
    clock,
    timers: deps.timers,
    node: deps.node,
    options: { ...DEFAULT_CONSOLE_FEED_OPTIONS, ...deps.feed },
  });
  app.addHook('preClose', (done) => {
    feed.close();
    done();
  });

  /** Runs a handler, answering RegistryErrors by the table and anything else with a generic 500. */
  const handle = (reply: FastifyReply, fn: () => unknown): unknown => {
    try {
      return fn();
    } catch (e) {
      if (e instanceof RegistryError) return fail(reply, CONSOLE_STATUS_OF[e.code], e.message);
      logger.error({ err: e }, 'unexpected error in the console API');
      return fail(reply, 500, 'internal error');
    }
  };

  // ------------------------------------------------------------------ the page

  const page = (_req: FastifyRequest, reply: FastifyReply): FastifyReply => {
    void reply.header('content-security-policy', CONTENT_SECURITY_POLICY).header('x-content-type-options', 'nosniff').header('referrer-policy', 'no-referrer');
    if (assets === undefined) return reply.code(503).type('text/plain; charset=utf-8').send('The herald console is not built: run `npm run build` (npm ci does it).\n');
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(assets.index);
  };
  app.get('/', page);
  app.get('/console', page);

  app.get('/console/assets/:version/:file', (req: FastifyRequest<{ Params: { version: string; file: string } }>, reply) => {
    const file = assets?.version === req.params.version ? assets.asset(req.params.file) : undefined;
    if (file === undefined) return fail(reply, 404, 'no such console asset');
    return reply.type(file.contentType).header('cache-control', 'public, max-age=31536000, immutable').header('x-content-type-options', 'nosniff').send(file.body);
  });

  // ------------------------------------------------------------------ who is asking

  app.get('/console/api/session', async (req, reply) => {
    const creds = httpCredentials(req.headers);
    const who = await access.authenticate(creds);
    if (!who.ok) return refuse(reply, { ok: false, authenticated: false, message: who.message });
    const view = await access.admitClusterView(undefined, creds);
    const body: SessionJson = { auth: access.enabled, user: who.principal.name, clusterView: view.ok };
    return reply.header('cache-control', 'no-store').send(body);
  });

  app.post('/console/api/login', async (req, reply) => {
    const p = stringsOf(req.body);
    const r = await access.login(p.username ?? '', p.password ?? '');
    if (!r.ok) return fail(reply, access.enabled ? 401 : 400, r.message);
    const body: LoginJson = { token: r.token, ttlMs: r.ttlMs, user: r.principal.name };
    return reply.header('cache-control', 'no-store').send(body);
  });

  // ------------------------------------------------------------------ reads

  app.get('/console/api/namespaces', async (req, reply) => {
    const who = await access.authenticate(httpCredentials(req.headers));
    if (!who.ok) return refuse(reply, { ok: false, authenticated: false, message: who.message });
    const principal = who.principal;
    if (access.enabled && principal.anonymous) return refuse(reply, { ok: false, authenticated: false, message: 'authentication required: the console needs credentials' });
    const names = [...new Set([DEFAULT_NAMESPACE, ...registry.namespaceNames()])].sort();
    const now = clock.nowMs();
    const namespaces = names
      .filter((ns) => access.decide(principal, 'read', ns).allowed)
      .map((name) => {
        const { services } = servicesJson(registry, name, now);
        return { name, services: services.length, instances: services.reduce((n, s) => n + s.instances, 0) };
      });
    const body: NamespacesJson = { namespaces };
    return reply.header('cache-control', 'no-store').send(body);
  });

  app.get('/console/api/services', async (req, reply) => {
    const p = stringsOf(req.query);
    const namespace = namespaceOf(p);
    const a = await access.admit(httpCredentials(req.headers), 'read', namespace);
    if (!a.ok) return refuse(reply, a);
    return handle(reply, () => reply.header('cache-control', 'no-store').send(servicesJson(registry, namespace, clock.nowMs())));
  });

  app.get('/console/api/service', async (req, reply) => {
    const p = stringsOf(req.query);
    const a = await access.admit(httpCredentials(req.headers), 'read', namespaceOf(p));
    if (!a.ok) return refuse(reply, a);
    const ref = serviceOf(p);
    if (ref === undefined) return fail(reply, 400, 'service is required');
    return handle(reply, () => reply.header('cache-control', 'no-store').send(serviceJson(registry.query(ref), clock.nowMs())));
  });

  app.get('/console/api/node', async (req, reply) => {
    const a = await access.admitClusterView(undefined, httpCredentials(req.headers));
    if (!a.ok) return refuse(reply, a);
    return reply.header('cache-control', 'no-store').send(deps.node());
  });

  // ------------------------------------------------------------------ live updates

  app.get('/console/api/events', async (req, reply) => {
    const p = stringsOf(req.query);
    const namespace = namespaceOf(p);
    const creds = httpCredentials(req.headers);
    const a = await access.admit(creds, 'read', namespace);
    if (!a.ok) return refuse(reply, a);
    const clusterView = (await access.admitClusterView(undefined, creds)).ok;
    const service = serviceOf(p);
    if (service !== undefined) {
      // (Not `reply.sent`: with an async onSend hook, such as the durable store's, an answer is
      // not sent yet when send() returns.)
      const check = { refused: false };
      const bad = handle(reply, () => {
        try {
          return registry.query(service);
        } catch (e) {
          check.refused = true;
          throw e;
        }
      });
      if (check.refused) return bad;
    }
    if (feed.size >= (deps.feed?.maxStreams ?? DEFAULT_CONSOLE_FEED_OPTIONS.maxStreams)) return fail(reply, 503, 'too many console streams open; try again later');
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-store',
      'x-accel-buffering': 'no',
      'x-content-type-options': 'nosniff',
    });
    const close = feed.open(res, { namespace, service, clusterView });
    if (close === undefined) {
      res.end();
      return reply;
    }
    // A stream outlives the credentials it opened with: re-check them when the auth file changes.
    const off = access.onReload(() => {
      void access.admit(creds, 'read', namespace).then((again) => {
        if (!again.ok) stop();
      });
    });
    const stop = (): void => {
      off();
      close();
    };
    // The response closes when the page goes away (or the stream ends).
    res.on('close', stop);
    return reply;
  });

  // ------------------------------------------------------------------ actions

  /** An action: same-origin check, write on the instance's namespace, then `fn` with the writer. */
  const action =
    (fn: (ref: InstanceActionJson & { status?: string }, actor: ReturnType<AccessControl['actor']>) => unknown) => async (req: FastifyRequest, reply: FastifyReply) => {
      const why = crossSite(req.headers);
      if (why !== undefined) return fail(reply, 403, why);
      const p = stringsOf(req.body);
      const namespace = namespaceOf(p);
      const a = await access.admit(httpCredentials(req.headers), 'write', namespace);
      if (!a.ok) return refuse(reply, a);
      const ref = { namespace, group: p.group === undefined || p.group === '' ? DEFAULT_GROUP : p.group, service: p.service ?? '', instanceId: p.instanceId ?? '' };
      // A change to a persistent instance is answered once the store has it on disk.
      deps.durable?.mark(req);
      return handle(reply, () => fn(p.status === undefined ? ref : { ...ref, status: p.status }, access.actor(a.principal, namespace)));
    };

  app.put(
    '/console/api/instance/status',
    action((ref, actor) => ({ instance: instanceJson(registry.setStatus({ ...ref, status: ref.status ?? 'OUT_OF_SERVICE' }, { actor })) })),
  );
  app.delete(
    '/console/api/instance/status',
    action((ref, actor) => ({ instance: instanceJson(registry.deleteStatusOverride({ ...ref, status: undefined }, { actor })) })),
  );
  app.delete(
    '/console/api/instance',
    action((ref, actor) => ({ instance: instanceJson(registry.cancel(ref, { actor })) })),
  );

  return feed;
}
