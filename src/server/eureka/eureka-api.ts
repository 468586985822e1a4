/**
 * The Eureka REST API (seeds 001–003) over herald's registry, under a base path (default `/eureka`,
 * `/eureka/v2` accepted too), XML or JSON in and out (eureka-xml.ts negotiates: XML unless the request
 * prefers JSON, as Eureka does; bodies in either, by Content-Type): register, renew (with status, overriddenstatus and
 * lastDirtyTimestamp; 409 with the server copy on a replication), cancel, status overrides,
 * metadata, the reads (all apps, delta, one app, one instance, VIPs), and peer batches from Eureka
 * servers (eureka-replication.ts). Every route is admitted by the one access decision first (HTTP
 * Basic or bearer credentials; peer batches need the cluster secret). Apps are services of the
 * default group in the Eureka namespace;
 * app names are case-insensitive and answered upper-case.
 * There is no read cache: a read after a write sees it.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AccessControl } from '../../auth/access-control.js';
import type { Permission } from '../../auth/permissions.js';
import type { Actor } from '../../core/model.js';
import type { DurableReplies } from '../durable-replies.js';
import { eurekaRefusal, httpClusterSecret, httpCredentials } from '../http-auth.js';
import { RegistryError } from '../../core/errors.js';
import { DEFAULT_GROUP, type InstanceRef, type ServiceRef } from '../../core/model.js';
import { registrationOf, type Registry } from '../../core/registry.js';
import type { Logger } from '../../common/logger.js';
import type { Clock } from '../../core/clock.js';
import { applications, appsHashCode, eurekaInstance, type EurekaApplication, type EurekaInstance } from './eureka-json.js';
import { registrationFromEureka } from './eureka-params.js';
import { eurekaMediaType, fromEurekaXml, toEurekaXml } from './eureka-xml.js';
import { eurekaError } from './eureka-errors.js';
import { applyReplicationBatch, HERALD_NODE_HEADER, type EurekaReplicaTarget } from './eureka-replication.js';

/** The header Eureka peers set on replicated requests. */
const REPLICATION_HEADER = 'x-netflix-discovery-replication';

/** The part of the registry this API uses. */
export type EurekaRegistry = EurekaReplicaTarget & Pick<Registry, 'getInstance' | 'hasInstance' | 'query' | 'fetchDelta' | 'serviceNames'>;

export interface EurekaApiDeps {
  readonly registry: EurekaRegistry;
  /** Holds the answers to writes that reached the durable store until they are on disk. */
  readonly durable?: DurableReplies;
  /** The server's clock (a metadata update marks the instance dirty now). */
  readonly clock: Clock;
  readonly logger: Logger;
  /** The access decision every route is admitted by. */
  readonly access: AccessControl;
  /** Base path, e.g. `/eureka`; `<base>/v2` is served too. */
  readonly basePath: string;
  /** Namespace Eureka apps live in. */
  readonly namespace: string;
  /** This node's cluster id, sent with batch answers so a herald peer recognises itself. */
  readonly nodeId?: () => string;
}

/** Requests served per route kind, for stats and tests. */
export type EurekaRequestCounts = Record<'register' | 'renew' | 'cancel' | 'status' | 'metadata' | 'full' | 'delta' | 'app' | 'instance' | 'vip' | 'batch', number>;

type Req = FastifyRequest<{ Params: Record<string, string>; Querystring: Record<string, string | undefined> }>;

/** An XML request body, kept as text until a handler reads it so bad XML answers through the status table. */
class XmlBody {
  constructor(readonly text: string) {}
}

/** A request body as Eureka's JSON shape: XML bodies parsed (INVALID_ARGUMENT when malformed). */
function bodyOf(req: FastifyRequest): unknown {
  return req.body instanceof XmlBody ? fromEurekaXml(req.body.text) : req.body;
}

/**
 * Whether a request is a Eureka peer's replication (`x-netflix-discovery-replication: true`). The
 * header is believed only from a caller holding the cluster secret when one is set: a client must
 * not make its write local-only (never sent on to peers) or claim Eureka's replication rules.
 */
function isReplication(req: FastifyRequest, access: AccessControl): boolean {
  if (req.headers[REPLICATION_HEADER] !== 'true') return false;
  return access.peerSecretOk(httpClusterSecret(req.headers));
}

export function registerEurekaRoutes(app: FastifyInstance, deps: EurekaApiDeps): EurekaRequestCounts {
  const { registry, namespace, logger } = deps;
  const counts: EurekaRequestCounts = { register: 0, renew: 0, cancel: 0, status: 0, metadata: 0, full: 0, delta: 0, app: 0, instance: 0, vip: 0, batch: 0 };

  /** Every app's service (default group, with instances), sorted by name. */
  const allServices = (): ServiceRef[] =>
    registry
      .serviceNames(namespace, DEFAULT_GROUP)
      .map((s) => s.service)
      .sort()
      .map((service) => ({ namespace, group: DEFAULT_GROUP, service }));

  /** The services an app name means: case-insensitive over the default group. */
  const servicesOf = (appName: string): ServiceRef[] => {
    const upper = appName.toUpperCase();
    return allServices().filter((s) => s.service.toUpperCase() === upper);
  };

  /**
   * The instance `id` of app `appName`, or undefined. Renewals come here on every heartbeat, so the
   * names an app is usually stored under (upper-case from Eureka clients, as given, lower-case from
   * gRPC or Nacos) are tried first in O(1); only a miss scans the service names for another spelling.
   */
  const findInstance = (appName: string, id: string): InstanceRef | undefined => {
    for (const service of new Set([appName.toUpperCase(), appName, appName.toLowerCase()])) {
      const ref = { namespace, group: DEFAULT_GROUP, service, instanceId: id };
      if (registry.hasInstance(ref)) return ref;
    }
    for (const ref of servicesOf(appName)) {
      if (registry.hasInstance({ ...ref, instanceId: id })) return { ...ref, instanceId: id };
    }
    return undefined;
  };

  /** The instance a request's `:app/:id` names; NOT_FOUND (404) when there is none. */
  const requireInstance = (req: Req): InstanceRef => {
    const appName = req.params.app ?? '';
    const id = req.params.id ?? '';
    const ref = findInstance(appName, id);
    if (ref === undefined) throw RegistryError.notFound(`instance ${id} of ${appName.toUpperCase()} is not registered`);
    return ref;
  };

  /** Every app with its instances (InstanceInfo), grouped case-insensitively. */
  const allApps = (keep: (i: EurekaInstance) => boolean = () => true): EurekaApplication[] => {
    const byApp = new Map<string, EurekaInstance[]>();
    for (const ref of allServices()) {
      const name = ref.service.toUpperCase();
      const list = byApp.get(name) ?? [];
      for (const h of registry.query(ref).hosts) {
        const i = eurekaInstance(ref.service, h);
        if (keep(i)) list.push(i);
      }
      byApp.set(name, list);
    }
    return [...byApp].filter(([, list]) => list.length > 0).map(([name, instance]) => ({ name, instance }));
  };

  const version = (): number => {
    let max = 0;
    for (const ref of allServices()) max = Math.max(max, registry.query(ref).revision);
    return max;
  };

  /** Answers a Eureka document (one root key) in the media type the request negotiated; `json` forces JSON (peer batches). */
  const send = (reply: FastifyReply, status: number, body?: object, json = false): FastifyReply => {
    if (body === undefined) return reply.code(status).send();
    if (!json && eurekaMediaType(reply.request.headers.accept) === 'xml') return reply.code(status).type('application/xml').send(toEurekaXml(body));
    return reply.code(status).type('application/json').send(JSON.stringify(body));
  };

  /** Runs a handler; answers registry errors with Eureka's statuses, anything else with 500. */
  const handle = (req: FastifyRequest, reply: FastifyReply, fn: () => FastifyReply): FastifyReply => {
    if (eurekaMediaType(req.headers.accept) === undefined)
      return reply.code(406).type('text/plain').send("herald's Eureka API answers XML or JSON; accept application/xml or application/json");
    deps.durable?.mark(req);
    try {
      return fn();
    } catch (e) {
      const answer = eurekaError(e, logger, req.url);
      if (answer.serverCopy !== undefined) {
        const copy = eurekaInstance((req.params as Record<string, string | undefined>).app ?? '', answer.serverCopy);
        // Eureka's JSON copy is the bare InstanceInfo; its XML one is the <instance> element.
        return eurekaMediaType(req.headers.accept) === 'xml' ? send(reply, 409, { instance: copy }) : send(reply, 409, copy, true);
      }
      return reply.code(answer.status).type('text/plain').send(answer.message);
    }
  };

  const notFound = (what: string): RegistryError => RegistryError.notFound(`${what} is not registered`);

  const { access } = deps;
  /** A route that needs `permission` on the Eureka namespace; `fn` gets who writes (undefined with auth off). */
  const guarded =
    (permission: Permission, fn: (req: Req, reply: FastifyReply, actor: Actor | undefined) => FastifyReply) =>
    async (req: Req, reply: FastifyReply): Promise<FastifyReply> => {
      if (!access.enabled) return fn(req, reply, undefined);
      const a = await access.admit(httpCredentials(req.headers), permission, namespace);
      if (!a.ok) return eurekaRefusal(reply, a);
      return fn(req, reply, access.actor(a.principal, namespace));
    };
  /** A peer batch: the cluster secret when one is set (see AccessControl.admitPeer). */
  const fromPeer =
    (fn: (req: Req, reply: FastifyReply) => FastifyReply) =>
    async (req: Req, reply: FastifyReply): Promise<FastifyReply> => {
      const a = await access.admitPeer(httpClusterSecret(req.headers), httpCredentials(req.headers));
      if (!a.ok) return eurekaRefusal(reply, a);
      return fn(req, reply);
    };

  for (const base of [deps.basePath, `${deps.basePath}/v2`]) {
    app.register(
      (scope, _opts, done) => {
        // Eureka's XML bodies: kept as text here, parsed by the handler (bodyOf) so bad XML is a 400 from the status table.
        scope.addContentTypeParser(['application/xml', 'text/xml'], { parseAs: 'string' }, (_req, text, done) => {
          done(null, new XmlBody(String(text)));
        });

        scope.post(
          '/apps/:app',
          guarded('write', (req: Req, reply, actor) =>
            handle(req, reply, () => {
              counts.register++;
              registry.register(registrationFromEureka(req.params.app ?? '', bodyOf(req), namespace), { replication: isReplication(req, access), actor, transport: 'eureka' });
              return send(reply, 204);
            }),
          ),
        );

        scope.put(
          '/apps/:app/:id',
          guarded('write', (req: Req, reply, actor) =>
            handle(req, reply, () => {
              counts.renew++;
              const ref = requireInstance(req);
              const dirty = Number(req.query.lastDirtyTimestamp ?? 'NaN');
              registry.renew({ ...ref, lastDirtyTimestamp: Number.isFinite(dirty) ? dirty : undefined }, { replication: isReplication(req, access), actor });
              return send(reply, 200);
            }),
          ),
        );

        scope.delete(
          '/apps/:app/:id',
          guarded('write', (req: Req, reply, actor) =>
            handle(req, reply, () => {
              counts.cancel++;
              const ref = requireInstance(req);
              registry.cancel(ref, { replication: isReplication(req, access), actor });
              return send(reply, 200);
            }),
          ),
        );

        scope.put(
          '/apps/:app/:id/status',
          guarded('write', (req: Req, reply, actor) =>
            handle(req, reply, () => {
              counts.status++;
              const ref = requireInstance(req);
              const dirty = Number(req.query.lastDirtyTimestamp ?? 'NaN');
              registry.setStatus(
                { ...ref, status: req.query.value ?? '', lastDirtyTimestamp: Number.isFinite(dirty) ? dirty : undefined },
                { replication: isReplication(req, access), actor },
              );
              return send(reply, 200);
            }),
          ),
        );

        scope.delete(
          '/apps/:app/:id/status',
          guarded('write', (req: Req, reply, actor) =>
            handle(req, reply, () => {
              counts.status++;
              const ref = requireInstance(req);
              registry.deleteStatusOverride({ ...ref, status: req.query.value }, { replication: isReplication(req, access), actor });
              return send(reply, 200);
            }),
          ),
        );

        scope.put(
          '/apps/:app/:id/metadata',
          guarded('write', (req: Req, reply, actor) =>
            handle(req, reply, () => {
              counts.metadata++;
              const ref = requireInstance(req);
              const { record } = registry.getInstance(ref);
              const added = Object.fromEntries(Object.entries(req.query).filter((e): e is [string, string] => typeof e[1] === 'string' && !e[0].startsWith('eureka.')));
              // Eureka's metadata update: the instance as it is, with the new metadata, marked dirty now.
              registry.register(
                registrationOf(ref, { ...record, metadata: { ...record.metadata, ...added }, lastDirtyTimestamp: Math.max(deps.clock.nowMs(), record.lastDirtyTimestamp + 1) }),
                { actor },
              );
              return send(reply, 200);
            }),
          ),
        );

        // A Eureka server that lists herald as a peer sends its replications here, in batches.
        scope.post(
          '/peerreplication/batch',
          fromPeer((req: Req, reply) =>
            handle(req, reply, () => {
              counts.batch++;
              // Eureka peers replicate in JSON (JerseyReplicationClient); a batch is answered in JSON whatever it accepts.
              if (req.body instanceof XmlBody) return reply.code(415).type('text/plain').send('peer replication batches are JSON; send Content-Type: application/json');
              const answer = applyReplicationBatch(req.body, { registry, namespace, findInstance, logger });
              const nodeId = deps.nodeId?.() ?? '';
              if (nodeId !== '') void reply.header(HERALD_NODE_HEADER, nodeId);
              return send(reply, 200, answer, true);
            }),
          ),
        );

        scope.get(
          '/apps',
          guarded('read', (req: Req, reply) =>
            handle(req, reply, () => {
              counts.full++;
              const apps = allApps();
              return send(reply, 200, applications(apps, appsHashCode(apps.flatMap((a) => a.instance)), version()));
            }),
          ),
        );

        scope.get(
          '/apps/delta',
          guarded('read', (req: Req, reply) =>
            handle(req, reply, () => {
              counts.delta++;
              const byApp = new Map<string, EurekaInstance[]>();
              for (const c of registry.fetchDelta(namespace).changes) {
                if (c.group !== DEFAULT_GROUP) continue;
                const name = c.service.toUpperCase();
                const list = byApp.get(name) ?? [];
                list.push(eurekaInstance(c.service, c.record, 0, c.action));
                byApp.set(name, list);
              }
              const hash = appsHashCode(allApps().flatMap((a) => a.instance));
              return send(
                reply,
                200,
                applications(
                  [...byApp].map(([name, instance]) => ({ name, instance })),
                  hash,
                  version(),
                ),
              );
            }),
          ),
        );

        scope.get(
          '/apps/:app',
          guarded('read', (req: Req, reply) =>
            handle(req, reply, () => {
              counts.app++;
              const name = (req.params.app ?? '').toUpperCase();
              const instance = servicesOf(name).flatMap((ref) => registry.query(ref).hosts.map((h) => eurekaInstance(ref.service, h)));
              if (instance.length === 0) throw notFound(`application ${name}`);
              return send(reply, 200, { application: { name, instance } });
            }),
          ),
        );

        scope.get(
          '/apps/:app/:id',
          guarded('read', (req: Req, reply) =>
            handle(req, reply, () => {
              counts.instance++;
              const ref = requireInstance(req);
              const { record, lastRenewalMs } = registry.getInstance(ref);
              return send(reply, 200, { instance: eurekaInstance(ref.service, record, lastRenewalMs) });
            }),
          ),
        );

        scope.get(
          '/instances/:id',
          guarded('read', (req: Req, reply) =>
            handle(req, reply, () => {
              counts.instance++;
              const id = req.params.id ?? '';
              for (const ref of allServices()) {
                if (!registry.hasInstance({ ...ref, instanceId: id })) continue;
                const { record, lastRenewalMs } = registry.getInstance({ ...ref, instanceId: id });
                return send(reply, 200, { instance: eurekaInstance(ref.service, record, lastRenewalMs) });
              }
              throw notFound(`instance ${id}`);
            }),
          ),
        );

        for (const [path, field] of [
          ['/vips/:vip', 'vipAddress'],
          ['/svips/:vip', 'secureVipAddress'],
        ] as const) {
          scope.get(
            path,
            guarded('read', (req: Req, reply) =>
              handle(req, reply, () => {
                counts.vip++;
                const vip = req.params.vip ?? '';
                const apps = allApps((i) => i[field].split(',').includes(vip));
                if (apps.length === 0) throw notFound(`VIP ${vip}`);
                return send(reply, 200, applications(apps, appsHashCode(apps.flatMap((a) => a.instance)), version()));
              }),
            ),
          );
        }
        done();
      },
      { prefix: base },
    );
  }
  return counts;
}
