/**
 * A Consul-compatible HTTP API under `/v1` over herald's registry (docs/consul.md): agent service
 * register and deregister, TTL checks (pass, warn, fail, update) mapped onto leases, the agent's
 * services and checks, the catalog's services and service nodes, the health of a service (with
 * `passing` and `tag`), and blocking queries (`index`, `wait`, `X-Consul-Index`) driven by the push
 * hub. Everything else under /v1 is answered by the unserved table (consul-errors.ts). Every route is
 * admitted by the one access decision first (the ACL token as Consul clients send it). Thin: the
 * codec (consul-codec.ts) maps the wire to the model; errors go through one table.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AccessControl } from '../../auth/access-control.js';
import type { Permission } from '../../auth/permissions.js';
import type { Logger } from '../../common/logger.js';
import type { Clock } from '../../core/clock.js';
import { RegistryError } from '../../core/errors.js';
import { DEFAULT_GROUP, type Actor, type InstanceRecord, type InstanceRef, type ServiceRef } from '../../core/model.js';
import { registrationOf, type Registry } from '../../core/registry.js';
import type { DurableReplies } from '../durable-replies.js';
import { consulCredentials, consulRefusal } from '../http-auth.js';
import { BlockingQueries, indexOf } from './consul-blocking.js';
import {
  agentService,
  catalogService,
  checkIdOf,
  checkStatusOf,
  consulBadRequest,
  CONSUL_META,
  healthCheck,
  parseDurationMs,
  registrationFromConsul,
  serviceEntry,
  tagsOf,
  type CheckStatus,
} from './consul-codec.js';
import { consulError, unservedAnswer } from './consul-errors.js';

/** The part of the registry this API uses. */
export type ConsulRegistry = Pick<Registry, 'register' | 'renew' | 'cancel' | 'getInstance' | 'hasInstance' | 'query' | 'serviceNames' | 'onServiceChanged' | 'options'>;

export interface ConsulApiDeps {
  readonly registry: ConsulRegistry;
  readonly blocking: BlockingQueries;
  readonly durable?: DurableReplies;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly access: AccessControl;
  /** Namespace Consul services live in unless a request names one with `?ns=`. */
  readonly namespace: string;
  /** The Consul node name every instance is shown on: this node's cluster id (or `herald`). */
  readonly nodeName: () => string;
}

/** Requests served per route kind, for stats and tests. */
export type ConsulRequestCounts = Record<'register' | 'deregister' | 'check' | 'agent' | 'catalog' | 'health' | 'blocked' | 'unserved', number>;

/** Consul's default and longest blocking wait. */
const DEFAULT_WAIT_MS = 5 * 60_000;
const MAX_WAIT_MS = 10 * 60_000;

type Query = Record<string, string | string[] | undefined>;
type Req = FastifyRequest<{ Params: Record<string, string>; Querystring: Query }>;

const first = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);
const all = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
/** `?passing`, `?passing=true`, `?passing=1` (Consul's parseBool of a present flag). */
const flag = (v: string | string[] | undefined): boolean => {
  const s = first(v);
  return s !== undefined && s !== 'false' && s !== '0';
};

/** The caller's address without the IPv4-mapped prefix. */
function callerAddress(req: FastifyRequest): string {
  return req.ip.startsWith('::ffff:') ? req.ip.slice(7) : req.ip;
}

export function registerConsulRoutes(app: FastifyInstance, deps: ConsulApiDeps): ConsulRequestCounts {
  const { registry, logger, access, blocking } = deps;
  const counts: ConsulRequestCounts = { register: 0, deregister: 0, check: 0, agent: 0, catalog: 0, health: 0, blocked: 0, unserved: 0 };

  const namespaceOf = (req: Req): string => {
    const ns = first(req.query.ns);
    return ns === undefined || ns === '' ? deps.namespace : ns;
  };
  const serviceRef = (namespace: string, service: string): ServiceRef => ({ namespace, group: DEFAULT_GROUP, service });
  const services = (namespace: string): string[] =>
    registry
      .serviceNames(namespace, DEFAULT_GROUP)
      .map((s) => s.service)
      .sort();
  /** Every instance of the namespace's default group, service by service. */
  function* instances(namespace: string): Generator<{ service: string; record: InstanceRecord }> {
    for (const service of services(namespace)) for (const record of registry.query(serviceRef(namespace, service)).hosts) yield { service, record };
  }
  /** The instance with Consul service id `id` (instance ids are unique per service: the first service holding it). */
  const findService = (namespace: string, id: string): InstanceRef | undefined => {
    for (const service of services(namespace)) {
      const ref = { ...serviceRef(namespace, service), instanceId: id };
      if (registry.hasInstance(ref)) return ref;
    }
    return undefined;
  };
  const requireService = (namespace: string, id: string): InstanceRef => {
    const ref = findService(namespace, id);
    if (ref === undefined) throw RegistryError.notFound(`Unknown service ID "${id}". Ensure that the service ID is passed, not the service name.`);
    return ref;
  };
  /** The instance whose TTL check is `checkId`: `service:<id>`, else a CheckID given at registration. */
  const requireCheck = (namespace: string, checkId: string): InstanceRef => {
    if (checkId.startsWith('service:')) {
      const ref = findService(namespace, checkId.slice('service:'.length));
      if (ref !== undefined && checkIdOf(registry.getInstance(ref).record) === checkId) return ref;
    }
    for (const { service, record } of instances(namespace))
      if (record.metadata[CONSUL_META.checkId] === checkId) return { ...serviceRef(namespace, service), instanceId: record.instanceId };
    throw RegistryError.notFound(`Unknown check ID "${checkId}". Ensure that the check ID is passed, not the check name.`);
  };
  const catalogIndex = (namespace: string): number => {
    let max = blocking.newestRevision(namespace);
    for (const service of services(namespace)) max = Math.max(max, registry.query(serviceRef(namespace, service)).revision);
    return indexOf(max);
  };

  const sendJson = (reply: FastifyReply, body: unknown, index?: number): FastifyReply => {
    if (index !== undefined) void reply.header('x-consul-index', String(index)).header('x-consul-knownleader', 'true').header('x-consul-lastcontact', '0');
    return reply.code(200).type('application/json').send(JSON.stringify(body));
  };
  const sendText = (reply: FastifyReply, status: number, text: string): FastifyReply => reply.code(status).type('text/plain; charset=utf-8').send(text);

  /** A route that needs `permission` on the request's namespace; errors answered by the one table. */
  const guarded =
    (permission: Permission, fn: (req: Req, reply: FastifyReply, namespace: string, actor: Actor | undefined) => FastifyReply | Promise<FastifyReply>) =>
    async (req: Req, reply: FastifyReply): Promise<FastifyReply> => {
      const namespace = namespaceOf(req);
      let actor: Actor | undefined;
      if (access.enabled) {
        const a = await access.admit(consulCredentials(req.headers, first(req.query.token)), permission, namespace);
        if (!a.ok) return consulRefusal(reply, a);
        actor = access.actor(a.principal, namespace);
      }
      try {
        if (permission !== 'read') deps.durable?.mark(req);
        return await fn(req, reply, namespace, actor);
      } catch (e) {
        const answer = consulError(e, logger, req.url);
        return sendText(reply, answer.status, answer.message);
      }
    };

  /**
   * Holds a blocking read (`?index=N`, optional `?wait=`) until `index()` moves past N or the wait
   * runs out; a read without `index` is answered at once.
   */
  const block = async (req: Req, reply: FastifyReply, wait: (index: number, waitMs: number, closed: AbortSignal) => Promise<void>): Promise<void> => {
    const rawIndex = first(req.query.index);
    if (rawIndex === undefined || rawIndex === '') return;
    const index = Number(rawIndex);
    if (!Number.isSafeInteger(index) || index < 0) throw consulBadRequest('index', 'Invalid index');
    const rawWait = first(req.query.wait);
    let waitMs = DEFAULT_WAIT_MS;
    if (rawWait !== undefined && rawWait !== '') {
      const w = parseDurationMs(rawWait);
      if (w === undefined) throw consulBadRequest('wait', 'Invalid wait time');
      waitMs = Math.min(w, MAX_WAIT_MS);
    }
    if (index === 0) return;
    counts.blocked++;
    const closed = new AbortController();
    const abort = (): void => {
      closed.abort();
    };
    reply.raw.once('close', abort);
    try {
      await wait(index, waitMs, closed.signal);
    } finally {
      reply.raw.off('close', abort);
    }
  };
  const blockOnService = (req: Req, reply: FastifyReply, ref: ServiceRef): Promise<void> =>
    block(req, reply, (index, waitMs, closed) => blocking.waitService(ref, index, waitMs, closed));

  /** The instances of a service a read returns: `?tag` (every one given must be present), `?passing`. */
  const hostsOf = (req: Req, ref: ServiceRef, passingOnly: boolean): { hosts: InstanceRecord[]; index: number } => {
    const view = registry.query(ref);
    const tags = all(req.query.tag);
    const hosts = view.hosts.filter((h) => (!passingOnly || checkStatusOf(h) === 'passing') && tags.every((t) => tagsOf(h).includes(t)));
    return { hosts, index: indexOf(view.revision) };
  };

  const setCheck = (req: Req, reply: FastifyReply, namespace: string, actor: Actor | undefined, status: CheckStatus): FastifyReply => {
    counts.check++;
    const checkId = req.params['*'] ?? '';
    const ref = requireCheck(namespace, checkId);
    const { record } = registry.getInstance(ref);
    if (record.metadata[CONSUL_META.check] === undefined || !record.ephemeral) throw consulBadRequest('check', `CheckID "${checkId}" does not have associated TTL`);
    const healthy = status !== 'critical';
    if (record.metadata[CONSUL_META.check] === status && record.reportedHealthy === healthy) {
      registry.renew(ref, { actor });
    } else {
      // The check's status is the instance's data: a new version of it, marked dirty now (renews the lease too).
      registry.register(
        registrationOf(ref, {
          ...record,
          reportedHealthy: healthy,
          metadata: { ...record.metadata, [CONSUL_META.check]: status },
          lastDirtyTimestamp: Math.max(deps.clock.nowMs(), record.lastDirtyTimestamp + 1),
        }),
        { actor, transport: 'consul' },
      );
    }
    return reply.code(200).send();
  };

  app.register(
    (scope, _opts, done) => {
      scope.put(
        '/agent/service/register',
        guarded('write', (req, reply, namespace, actor) => {
          counts.register++;
          const { input } = registrationFromConsul(req.body, { namespace, callerAddress: callerAddress(req), defaultLeaseMs: registry.options.defaultLeaseDurationMs });
          registry.register(input, { actor, transport: 'consul' });
          return reply.code(200).send();
        }),
      );

      scope.put(
        '/agent/service/deregister/:id',
        guarded('write', (req, reply, namespace, actor) => {
          counts.deregister++;
          registry.cancel(requireService(namespace, req.params.id ?? ''), { actor });
          return reply.code(200).send();
        }),
      );

      for (const [verb, status] of [
        ['pass', 'passing'],
        ['warn', 'warning'],
        ['fail', 'critical'],
      ] as const) {
        scope.put(
          `/agent/check/${verb}/*`,
          guarded('write', (req, reply, namespace, actor) => setCheck(req, reply, namespace, actor, status)),
        );
      }
      scope.put(
        '/agent/check/update/*',
        guarded('write', (req, reply, namespace, actor) => {
          const body: unknown = req.body;
          const status = typeof body === 'object' && body !== null && 'Status' in body ? body.Status : undefined;
          if (status !== 'passing' && status !== 'warning' && status !== 'critical') throw consulBadRequest('Status', `Invalid status "${String(status)}"`);
          return setCheck(req, reply, namespace, actor, status);
        }),
      );

      scope.get(
        '/agent/services',
        guarded('read', (_req, reply, namespace) => {
          counts.agent++;
          const out: Record<string, unknown> = {};
          for (const { service, record } of instances(namespace)) out[record.instanceId] = agentService(service, record);
          return sendJson(reply, out);
        }),
      );

      scope.get(
        '/agent/service/:id',
        guarded('read', (req, reply, namespace) => {
          counts.agent++;
          const ref = requireService(namespace, req.params.id ?? '');
          return sendJson(reply, agentService(ref.service, registry.getInstance(ref).record));
        }),
      );

      scope.get(
        '/agent/checks',
        guarded('read', (_req, reply, namespace) => {
          counts.agent++;
          const out: Record<string, unknown> = {};
          for (const { service, record } of instances(namespace)) out[checkIdOf(record)] = healthCheck(service, record, deps.nodeName());
          return sendJson(reply, out);
        }),
      );

      scope.get(
        '/catalog/services',
        guarded('read', async (req, reply, namespace) => {
          counts.catalog++;
          await block(req, reply, (index, waitMs, closed) => blocking.waitCatalog(namespace, index, () => catalogIndex(namespace), waitMs, closed));
          const out: Record<string, string[]> = {};
          for (const service of services(namespace)) {
            out[service] = [...new Set(registry.query(serviceRef(namespace, service)).hosts.flatMap(tagsOf))].sort();
          }
          return sendJson(reply, out, catalogIndex(namespace));
        }),
      );

      scope.get(
        '/catalog/service/:name',
        guarded('read', async (req, reply, namespace) => {
          counts.catalog++;
          const ref = serviceRef(namespace, req.params.name ?? '');
          await blockOnService(req, reply, ref);
          const { hosts, index } = hostsOf(req, ref, false);
          return sendJson(
            reply,
            hosts.map((h) => catalogService(ref.service, h, deps.nodeName())),
            index,
          );
        }),
      );

      scope.get(
        '/health/service/:name',
        guarded('read', async (req, reply, namespace) => {
          counts.health++;
          const ref = serviceRef(namespace, req.params.name ?? '');
          await blockOnService(req, reply, ref);
          const { hosts, index } = hostsOf(req, ref, flag(req.query.passing));
          return sendJson(
            reply,
            hosts.map((h) => serviceEntry(ref.service, h, deps.nodeName())),
            index,
          );
        }),
      );

      scope.get(
        '/health/checks/:name',
        guarded('read', async (req, reply, namespace) => {
          counts.health++;
          const ref = serviceRef(namespace, req.params.name ?? '');
          await blockOnService(req, reply, ref);
          const { hosts, index } = hostsOf(req, ref, false);
          return sendJson(
            reply,
            hosts.map((h) => healthCheck(ref.service, h, deps.nodeName())),
            index,
          );
        }),
      );

      scope.get(
        '/catalog/datacenters',
        guarded('read', (_req, reply) => sendJson(reply, ['dc1'])),
      );
      scope.get(
        '/catalog/nodes',
        guarded('read', (_req, reply) => sendJson(reply, [{ ID: '', Node: deps.nodeName(), Address: '', Datacenter: 'dc1', TaggedAddresses: null, Meta: null }], 1)),
      );
      scope.get(
        '/status/leader',
        guarded('read', (req, reply) => sendJson(reply, req.host)),
      );
      scope.get(
        '/status/peers',
        guarded('read', (req, reply) => sendJson(reply, [req.host])),
      );

      // Everything else under /v1 (KV, ACL, Connect, sessions, …): admitted like any route, then refused by the table.
      scope.all(
        '/*',
        guarded('read', (req, reply) => {
          counts.unserved++;
          const answer = unservedAnswer(req.params['*'] ?? '');
          return sendText(reply, answer.status, answer.message);
        }),
      );
      done();
    },
    { prefix: '/v1' },
  );
  return counts;
}
