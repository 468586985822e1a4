/**
 * Prometheus HTTP service discovery (`http_sd_configs`): `GET /prometheus/sd` answers the target
 * groups of one namespace, `[{"targets": ["ip:port", …], "labels": {"__meta_herald_…": …}}]`.
 *
 * Prometheus applies a group's labels to every target in it, so instances whose labels differ
 * cannot share a group: a group holds the instances of one service whose labels are all equal
 * (namespace, group, service, cluster, health and metadata). Instances with the same metadata share
 * one group per service and cluster; an instance with metadata of its own gets a group of its own.
 *
 * Query parameters: `namespace` (default `public`), `group` (default every group), `service`
 * (comma-separated names; default every service), `healthy_only` (`true`/`false`, default false).
 * Anything else, or a bad value, is refused with 400 naming the parameter. Admitted by the one
 * access decision: read on the namespace (HTTP Basic or a bearer token, which Prometheus sends from
 * `authorization` or `basic_auth` in its config); refused with 401 (a challenge) or 403.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AccessControl } from '../../auth/access-control.js';
import { DEFAULT_NAMESPACE, type InstanceRecord } from '../../core/model.js';
import type { Registry } from '../../core/registry.js';
import { httpCredentials } from '../http-auth.js';

export const PROMETHEUS_SD_PATH = '/prometheus/sd';

/** One target group of Prometheus's HTTP SD. */
export interface TargetGroup {
  readonly targets: string[];
  readonly labels: Record<string, string>;
}

export interface PrometheusSdDeps {
  readonly registry: Pick<Registry, 'serviceNames' | 'query'>;
  readonly access: AccessControl;
}

/** The query this endpoint takes, validated. */
export interface SdQuery {
  readonly namespace: string;
  readonly group: string | undefined;
  readonly services: readonly string[] | undefined;
  readonly healthyOnly: boolean;
}

const PARAMS = new Set(['namespace', 'group', 'service', 'healthy_only']);

/** The query of a request, or the 400 message naming the bad parameter. */
export function sdQuery(q: Readonly<Record<string, unknown>>): { ok: true; query: SdQuery } | { ok: false; message: string } {
  for (const k of Object.keys(q)) if (!PARAMS.has(k)) return { ok: false, message: `unknown parameter ${k} (known: ${[...PARAMS].join(', ')})` };
  const one = (k: string): string | undefined | null => {
    const v = q[k];
    if (v === undefined) return undefined;
    return typeof v === 'string' ? v : null;
  };
  const values: Record<string, string | undefined> = {};
  for (const k of PARAMS) {
    const v = one(k);
    if (v === null) return { ok: false, message: `parameter ${k} is given more than once` };
    if (v !== undefined && v.trim() === '') return { ok: false, message: `parameter ${k} is empty` };
    values[k] = v;
  }
  const healthy = values.healthy_only;
  if (healthy !== undefined && healthy !== 'true' && healthy !== 'false')
    return { ok: false, message: `parameter healthy_only must be true or false, not ${JSON.stringify(healthy)}` };
  const services = values.service?.split(',').map((s) => s.trim());
  if (services?.some((s) => s === '') === true) return { ok: false, message: 'parameter service has an empty name' };
  return { ok: true, query: { namespace: values.namespace ?? DEFAULT_NAMESPACE, group: values.group, services, healthyOnly: healthy === 'true' } };
}

/** A label name as Prometheus allows it (`[a-zA-Z_][a-zA-Z0-9_]*`): anything else becomes `_`. */
export function sanitiseLabelName(name: string): string {
  return name.replace(/[^a-zA-Z0-9_]/g, '_');
}

/** `ip:port`, IPv6 in brackets. */
function target(r: InstanceRecord): string {
  return r.ip.includes(':') ? `[${r.ip}]:${String(r.port)}` : `${r.ip}:${String(r.port)}`;
}

function labelsOf(namespace: string, group: string, service: string, r: InstanceRecord): Record<string, string> {
  const labels: Record<string, string> = {
    __meta_herald_namespace: namespace,
    __meta_herald_group: group,
    __meta_herald_service: service,
    __meta_herald_cluster: r.cluster,
    __meta_herald_healthy: String(r.healthy && r.enabled && r.status === 'UP'),
  };
  // Sorted, so when two keys sanitise to one label name the same one wins every time.
  for (const k of Object.keys(r.metadata).sort()) {
    const name = `__meta_herald_metadata_${sanitiseLabelName(k)}`;
    if (!(name in labels)) labels[name] = r.metadata[k] ?? '';
  }
  return labels;
}

/** Ordering that does not depend on the locale. */
const byCodePoint = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The target groups of a query: one per service and distinct label set, in a stable order. */
export function targetGroups(registry: PrometheusSdDeps['registry'], q: SdQuery): TargetGroup[] {
  const wanted = q.services === undefined ? undefined : new Set(q.services);
  const names = registry
    .serviceNames(q.namespace, q.group)
    .filter((s) => wanted === undefined || wanted.has(s.service))
    .sort((a, b) => byCodePoint(a.group, b.group) || byCodePoint(a.service, b.service));
  const out: TargetGroup[] = [];
  for (const { group, service } of names) {
    const view = registry.query({ namespace: q.namespace, group, service }, { healthyOnly: q.healthyOnly });
    const byLabels = new Map<string, TargetGroup>();
    for (const r of [...view.hosts].sort((a, b) => byCodePoint(a.instanceId, b.instanceId))) {
      const labels = labelsOf(q.namespace, group, service, r);
      const key = JSON.stringify(labels);
      const g = byLabels.get(key) ?? { targets: [], labels };
      g.targets.push(target(r));
      byLabels.set(key, g);
    }
    out.push(...byLabels.values());
  }
  return out;
}

function fail(reply: FastifyReply, code: number, message: string): FastifyReply {
  return reply.code(code).type('text/plain; charset=utf-8').send(message);
}

export function registerPrometheusSdRoutes(app: FastifyInstance, deps: PrometheusSdDeps): void {
  const { access, registry } = deps;
  app.get(PROMETHEUS_SD_PATH, async (req: FastifyRequest<{ Querystring: Record<string, unknown> }>, reply: FastifyReply): Promise<FastifyReply> => {
    const parsed = sdQuery(req.query);
    if (!parsed.ok) return fail(reply, 400, parsed.message);
    const { query } = parsed;
    if (access.enabled) {
      const a = await access.admit(httpCredentials(req.headers), 'read', query.namespace);
      if (!a.ok) {
        if (!a.authenticated) void reply.header('www-authenticate', 'Bearer realm="herald"');
        return fail(reply, a.authenticated ? 403 : 401, a.message);
      }
    }
    return reply
      .code(200)
      .type('application/json')
      .send(JSON.stringify(targetGroups(registry, query)));
  });
}
