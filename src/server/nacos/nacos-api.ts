/**
 * The Nacos v1 open API routes the `nacos` npm (and Java 1.x) naming clients call, with their exact
 * shapes: login, register, deregister, beat, instance list (with UDP push targets), service list,
 * metrics. Every route but login is admitted by the one access decision first (credentials as the
 * Nacos server reads them). Thin: parameters become core inputs (nacos-params.ts), errors go
 * through one table below.
 */
import { loadavg, freemem, totalmem } from 'node:os';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AccessControl } from '../../auth/access-control.js';
import type { Permission } from '../../auth/permissions.js';
import type { Actor } from '../../core/model.js';
import type { DurableReplies } from '../durable-replies.js';
import { nacosCredentials, nacosRefusal } from '../http-auth.js';
import { RegistryError, type FieldViolation, type RegistryErrorCode } from '../../core/errors.js';
import type { Registry } from '../../core/registry.js';
import type { Logger } from '../../common/logger.js';
import type { ServiceView } from '../../core/model.js';
import { normalizeClusters } from '../../core/service-view.js';
import { beatInfo, bool, inNacosTerms, instanceAddress, namespaceOf, registration, serviceOf, type NacosParams, type NacosTiming } from './nacos-params.js';

/** Nacos's HTTP statuses for the registry's errors. */
const NACOS_STATUS_OF: Readonly<Record<RegistryErrorCode, number>> = {
  INVALID_ARGUMENT: 400,
  NOT_FOUND: 404,
  CONFLICT: 409,
  LIMIT_EXCEEDED: 400,
  PERMISSION_DENIED: 403,
};

/** Nacos's beat answer codes. */
const BEAT_OK = 10200;
const BEAT_RESOURCE_NOT_FOUND = 20404;

/** The part of the registry this API uses. */
export type NacosRegistry = Pick<Registry, 'register' | 'renew' | 'cancel' | 'query' | 'listServices' | 'stats'>;

export interface NacosApiDeps {
  readonly registry: NacosRegistry;
  /** The access decision every route but login is admitted by. */
  readonly access: AccessControl;
  readonly logger: Logger;
  /** Holds the answers to writes that reached the durable store until they are on disk. */
  readonly durable?: DurableReplies;
  readonly timing: NacosTiming;
  /** cache_millis told to Nacos clients (their poll interval). */
  readonly cacheMillis: () => number;
  /** A view's ServiceInfo JSON for a clusters string (encoded once per view, shared with UDP push). */
  readonly serviceInfoJson: (view: ServiceView, clusters: string, cacheMillis: number) => string;
  /** A list call with a UDP port: `clientIP` (or the caller's address) becomes a push target. */
  readonly onUdpPull?: (args: { ref: { namespace: string; group: string; service: string }; address: string; port: number; clusters: string; healthyOnly: boolean }) => void;
  /** Subscribers (streams and UDP targets) for the metrics endpoint. */
  readonly subscriberCount: () => number;
}

function params(req: { query: unknown; body: unknown }): NacosParams {
  const merge = (v: unknown): Record<string, string> =>
    typeof v === 'object' && v !== null ? Object.fromEntries(Object.entries(v).filter((e): e is [string, string] => typeof e[1] === 'string')) : {};
  return { ...merge(req.query), ...merge(req.body) };
}

/** Runs a handler, answering RegistryErrors with Nacos's status and `caused: message;`. */
function handle(deps: NacosApiDeps, reply: FastifyReply, fn: () => unknown): unknown {
  deps.durable?.mark(reply.request);
  try {
    return fn();
  } catch (e) {
    if (e instanceof RegistryError) {
      return reply
        .code(NACOS_STATUS_OF[e.code])
        .type('text/plain; charset=utf-8')
        .send(`caused: ${inNacosTerms(e)};`);
    }
    deps.logger.error({ err: e }, 'unexpected error in Nacos API');
    return reply.code(500).type('text/plain; charset=utf-8').send('caused: internal error;');
  }
}

/** Requests served per route, for stats and tests. */
export type NacosRequestCounts = Record<'login' | 'register' | 'deregister' | 'beat' | 'list' | 'serviceList' | 'metrics', number>;

/** A route's handler once admitted: the request, its parameters and who writes (undefined with auth off). */
type Admitted = (req: FastifyRequest, reply: FastifyReply, p: NacosParams, actor: Actor | undefined) => unknown;

export function registerNacosRoutes(app: FastifyInstance, deps: NacosApiDeps): NacosRequestCounts {
  const { registry, timing, access } = deps;
  const base = '/nacos/v1/ns';
  const counts: NacosRequestCounts = { login: 0, register: 0, deregister: 0, beat: 0, list: 0, serviceList: 0, metrics: 0 };

  /** A route that needs `permission` on the namespace its parameters name (`*`: every namespace). */
  const guarded =
    (permission: Permission, scope: 'namespace' | '*', fn: Admitted) =>
    async (req: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
      const p = params(req);
      if (!access.enabled) return fn(req, reply, p, undefined);
      const namespace = scope === '*' ? '*' : namespaceOf(p);
      const a = await access.admit(nacosCredentials(req.headers, p), permission, namespace);
      if (!a.ok) return nacosRefusal(reply, a);
      return fn(req, reply, p, access.actor(a.principal, namespace));
    };

  // Nacos's login: an access token for a user name and password, its TTL in seconds.
  for (const path of ['/nacos/v1/auth/login', '/nacos/v1/auth/users/login']) {
    app.post(path, async (req, reply) => {
      counts.login++;
      const p = params(req);
      if (!access.enabled) return reply.code(403).type('text/plain; charset=utf-8').send('caused: authentication is off on this server: calls need no token;');
      const r = await access.login(p.username ?? '', p.password ?? '');
      if (!r.ok) return nacosRefusal(reply, { ok: false, authenticated: false, message: r.message });
      return reply.send({
        accessToken: r.token,
        tokenTtl: Math.floor(r.ttlMs / 1000),
        globalAdmin: r.principal.roles.some((role) => role.namespace === '*' && role.permission === 'admin'),
        username: r.principal.name,
      });
    });
  }

  app.post(
    `${base}/instance`,
    guarded('write', 'namespace', (_req, reply, p, actor) =>
      handle(deps, reply, () => {
        counts.register++;
        registry.register(registration(p, timing), { actor, transport: 'nacos' });
        return reply.type('text/plain; charset=utf-8').send('ok');
      }),
    ),
  );

  app.delete(
    `${base}/instance`,
    guarded('write', 'namespace', (_req, reply, p, actor) =>
      handle(deps, reply, () => {
        counts.deregister++;
        try {
          registry.cancel(instanceAddress(p), { actor });
        } catch (e) {
          // Deregistering an instance that is gone is not an error in Nacos.
          if (!(e instanceof RegistryError && e.code === 'NOT_FOUND')) throw e;
        }
        return reply.type('text/plain; charset=utf-8').send('ok');
      }),
    ),
  );

  app.put(
    `${base}/instance/beat`,
    guarded('write', 'namespace', (_req, reply, p, actor) =>
      handle(deps, reply, () => {
        counts.beat++;
        const beat = beatInfo(p);
        const address = instanceAddress(p, beat === undefined ? {} : { ip: beat.ip, port: beat.port, cluster: beat.cluster });
        let interval = timing.beatIntervalMs;
        try {
          interval = registry.renew(address, { actor }).renewalIntervalMs;
        } catch (e) {
          if (!(e instanceof RegistryError && e.code === 'NOT_FOUND')) throw e;
          if (beat === undefined) return reply.send({ code: BEAT_RESOURCE_NOT_FOUND, clientBeatInterval: interval, lightBeatEnabled: false });
          // As Nacos 1.x does: a beat for an unknown instance (evicted, or the server restarted)
          // registers it again from the beat's contents.
          const re = registration(
            {
              ...p,
              ip: beat.ip,
              port: String(beat.port),
              clusterName: beat.cluster,
              weight: beat.weight === undefined ? undefined : String(beat.weight),
              metadata: JSON.stringify(beat.metadata),
            },
            timing,
          );
          interval = registry.register(re, { actor, transport: 'nacos' }).record.renewalIntervalMs;
          deps.logger.info({ instanceId: address.instanceId }, 'registered again from a beat');
        }
        return reply.send({ clientBeatInterval: interval, code: BEAT_OK, lightBeatEnabled: false });
      }),
    ),
  );

  app.get(
    `${base}/instance/list`,
    guarded('read', 'namespace', (req, reply, p) =>
      handle(deps, reply, () => {
        counts.list++;
        const v: FieldViolation[] = [];
        const { group, service } = serviceOf(p, v);
        const namespace = namespaceOf(p);
        const clustersText = p.clusters ?? '';
        const healthyOnly = bool(p, 'healthyOnly', false, v);
        if (v.length > 0) throw RegistryError.invalid(v);
        const view = registry.query({ namespace, group, service }, { clusters: normalizeClusters(clustersText.split(',')), healthyOnly });
        const udpPort = Number(p.udpPort ?? '0');
        if (Number.isInteger(udpPort) && udpPort > 0 && udpPort <= 65_535) {
          const address = p.clientIP !== undefined && p.clientIP !== '' ? p.clientIP : req.ip;
          deps.onUdpPull?.({ ref: { namespace: view.namespace, group: view.group, service: view.name }, address, port: udpPort, clusters: clustersText, healthyOnly });
        }
        return reply.type('application/json; charset=utf-8').send(deps.serviceInfoJson(view, clustersText, deps.cacheMillis()));
      }),
    ),
  );

  app.get(
    `${base}/service/list`,
    guarded('read', 'namespace', (_req, reply, p) =>
      handle(deps, reply, () => {
        counts.serviceList++;
        const pageNo = Math.max(1, Number(p.pageNo ?? '1') || 1);
        const pageSize = Math.min(10_000, Math.max(1, Number(p.pageSize ?? '10') || 10));
        const group = p.groupName === undefined || p.groupName === '' ? 'DEFAULT_GROUP' : p.groupName;
        const names: string[] = [];
        let pageToken = '';
        do {
          const page = registry.listServices({ namespace: namespaceOf(p), group, pageSize: 1000, pageToken });
          for (const s of page.services) if (s.instanceCount > 0 || s.protectThreshold > 0) names.push(s.name);
          pageToken = page.nextPageToken;
        } while (pageToken !== '');
        return reply.send({ count: names.length, doms: names.slice((pageNo - 1) * pageSize, pageNo * pageSize) });
      }),
    ),
  );

  // Registry-wide counts: read on every namespace.
  app.get(
    `${base}/operator/metrics`,
    guarded('read', '*', (_req, reply) =>
      handle(deps, reply, () => {
        counts.metrics++;
        const stats = registry.stats();
        return reply.send({
          status: 'UP',
          serviceCount: stats.services,
          instanceCount: stats.instances,
          subscribeCount: deps.subscriberCount(),
          responsibleServiceCount: stats.services,
          responsibleInstanceCount: stats.instances,
          cpu: loadavg()[0] ?? 0,
          load: loadavg()[0] ?? 0,
          mem: 1 - freemem() / totalmem(),
        });
      }),
    ),
  );
  return counts;
}
