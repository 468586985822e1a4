/**
 * The Consul transport's one codec: Consul's JSON (PascalCase: AgentServiceRegistration, its TTL
 * check, AgentService, CatalogService, ServiceEntry, HealthCheck) to and from herald's model. Wire
 * shapes stop here; the routes (consul-api.ts) only pass domain values. The mapping (docs/consul.md):
 *
 * - a Consul service instance is a herald instance of the default group in the Consul namespace:
 *   `ID` (default `Name`) → instance id, `Name` → service, `Address` (default the caller's address)
 *   and `Port` → ip and port, `Meta` → metadata, `Tags` → the `consul.tags` metadata entry (a JSON
 *   array);
 * - a TTL check → an ephemeral instance: shown unhealthy after `TTL` without a pass (as Consul
 *   turns the check critical), and removed when its lease runs out, `TTL` +
 *   `DeregisterCriticalServiceAfter` (or + the server's default lease when that is not given); its
 *   status (passing, warning, critical) is kept in `consul.check`, its id in `consul.check-id`;
 * - no check → a persistent instance, always passing (a Consul service without checks is passing;
 *   nobody renews it, so it must not have a lease).
 */
import { RegistryError } from '../../core/errors.js';
import { DEFAULT_GROUP, type InstanceRecord } from '../../core/model.js';
import type { RegisterInput } from '../../core/validate.js';

/** Metadata keys the Consul API keeps its own fields in. */
export const CONSUL_META = {
  tags: 'consul.tags',
  check: 'consul.check',
  checkId: 'consul.check-id',
  checkName: 'consul.check-name',
} as const;

/** Consul's check statuses. */
export type CheckStatus = 'passing' | 'warning' | 'critical';
const CHECK_STATUSES: readonly CheckStatus[] = ['passing', 'warning', 'critical'];

/** Consul's 400: the registry's one error type (INVALID_ARGUMENT) with Consul's message. */
export function consulBadRequest(field: string, message: string): RegistryError {
  return RegistryError.invalid([{ field, description: message }]);
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

const UNIT_MS: Readonly<Record<string, number>> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * A Go duration (`10s`, `1m30s`, `500ms`) in ms, or undefined when it is not one. A bare number is
 * taken as nanoseconds, as Consul's JSON decoder does.
 */
export function parseDurationMs(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? v / 1e6 : undefined;
  if (typeof v !== 'string') return undefined;
  const s = v.trim();
  if (s === '0') return 0;
  if (!/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(s)) return undefined;
  let total = 0;
  for (const m of s.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) total += Number(m[1]) * (UNIT_MS[m[2] ?? ''] ?? 0);
  return total;
}

/** The TTL check of a registration, in herald's terms. */
export interface TtlCheck {
  readonly ttlMs: number;
  readonly status: CheckStatus;
  readonly checkId: string;
  readonly name: string;
  readonly deregisterAfterMs: number | undefined;
}

/** Check kinds herald does not run; a registration with one is refused rather than silently never checked. */
const UNRUN_CHECKS = ['HTTP', 'TCP', 'UDP', 'GRPC', 'H2PING', 'Args', 'Script', 'DockerContainerID', 'AliasNode', 'AliasService', 'OSService'] as const;

function ttlCheckOf(raw: unknown, serviceId: string): TtlCheck {
  if (!isObject(raw)) throw consulBadRequest('Check', 'Request decode failed: Check must be an object');
  for (const kind of UNRUN_CHECKS) {
    if (raw[kind] !== undefined && raw[kind] !== '' && raw[kind] !== null)
      throw consulBadRequest('Check', `Invalid check: herald runs no ${kind} checks, only TTL checks (see docs/consul.md)`);
  }
  const ttlMs = parseDurationMs(raw.TTL);
  if (ttlMs === undefined || ttlMs <= 0) throw consulBadRequest('Check.TTL', 'Invalid check: TTL must be > 0 for TTL checks');
  const status = raw.Status === undefined || raw.Status === '' ? 'critical' : raw.Status;
  if (typeof status !== 'string' || !(CHECK_STATUSES as readonly string[]).includes(status))
    throw consulBadRequest('Check.Status', `Invalid check: Status must be passing, warning or critical`);
  let deregisterAfterMs: number | undefined;
  if (raw.DeregisterCriticalServiceAfter !== undefined && raw.DeregisterCriticalServiceAfter !== '') {
    deregisterAfterMs = parseDurationMs(raw.DeregisterCriticalServiceAfter);
    if (deregisterAfterMs === undefined) throw consulBadRequest('Check.DeregisterCriticalServiceAfter', 'Request decode failed: DeregisterCriticalServiceAfter is not a duration');
  }
  const checkId = typeof raw.CheckID === 'string' && raw.CheckID !== '' ? raw.CheckID : `service:${serviceId}`;
  const name = typeof raw.Name === 'string' && raw.Name !== '' ? raw.Name : `Service '${serviceId}' check`;
  return { ttlMs, status: status as CheckStatus, checkId, name, deregisterAfterMs };
}

/** What the register route needs besides the body. */
export interface ConsulRegisterContext {
  readonly namespace: string;
  /** The caller's address: a service registered without `Address` is at it (Consul uses the agent's). */
  readonly callerAddress: string;
  /** The server's default lease: how long a critical TTL service without DeregisterCriticalServiceAfter is kept. */
  readonly defaultLeaseMs: number;
}

/** A PUT /v1/agent/service/register body as a core registration. Throws INVALID_ARGUMENT (400) with Consul's messages. */
export function registrationFromConsul(body: unknown, ctx: ConsulRegisterContext): { input: RegisterInput; check: TtlCheck | undefined } {
  if (!isObject(body)) throw consulBadRequest('body', 'Request decode failed: the body must be a JSON object');
  const name = body.Name;
  if (typeof name !== 'string' || name === '') throw consulBadRequest('Name', 'Missing service name');
  const id = body.ID === undefined || body.ID === '' ? name : body.ID;
  if (typeof id !== 'string') throw consulBadRequest('ID', 'Request decode failed: ID must be a string');
  const port = body.Port ?? 0;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65_535) throw consulBadRequest('Port', 'Invalid Port: must be an integer between 0 and 65535');
  const address = body.Address === undefined || body.Address === '' ? ctx.callerAddress : body.Address;
  if (typeof address !== 'string') throw consulBadRequest('Address', 'Request decode failed: Address must be a string');
  const tags = body.Tags ?? [];
  if (!Array.isArray(tags) || !tags.every((t): t is string => typeof t === 'string')) throw consulBadRequest('Tags', 'Request decode failed: Tags must be an array of strings');
  const meta = body.Meta ?? {};
  if (!isObject(meta) || !Object.values(meta).every((v) => typeof v === 'string')) throw consulBadRequest('Meta', 'Invalid Service Meta: values must be strings');
  for (const k of Object.keys(meta)) {
    if (k.startsWith('consul.')) throw consulBadRequest('Meta', `Invalid Service Meta: key "${k}" is reserved (the consul. prefix)`);
  }
  if (body.Connect !== undefined || body.Proxy !== undefined || body.Kind === 'connect-proxy')
    throw consulBadRequest('Connect', 'Connect is not served by herald (see docs/consul.md)');

  const raws: unknown[] = [];
  if (body.Check !== undefined && body.Check !== null) raws.push(body.Check);
  if (Array.isArray(body.Checks)) raws.push(...(body.Checks as unknown[]));
  else if (body.Checks !== undefined && body.Checks !== null) throw consulBadRequest('Checks', 'Request decode failed: Checks must be an array');
  if (raws.length > 1) throw consulBadRequest('Checks', 'Invalid check: herald keeps one TTL check per service (see docs/consul.md)');
  const check = raws.length === 1 ? ttlCheckOf(raws[0], id) : undefined;

  const metadata: Record<string, string> = { ...(meta as Record<string, string>) };
  if (tags.length > 0) metadata[CONSUL_META.tags] = JSON.stringify(tags);
  if (check !== undefined) {
    metadata[CONSUL_META.check] = check.status;
    metadata[CONSUL_META.checkId] = check.checkId;
    metadata[CONSUL_META.checkName] = check.name;
  }
  const input: RegisterInput = {
    namespace: ctx.namespace,
    group: DEFAULT_GROUP,
    service: name,
    instance: {
      instanceId: id,
      ip: address,
      port,
      metadata,
      ephemeral: check !== undefined,
      healthy: check === undefined || check.status !== 'critical',
      ...(check === undefined
        ? {}
        : {
            leaseDurationMs: Math.round(check.ttlMs + (check.deregisterAfterMs ?? ctx.defaultLeaseMs)),
            renewalIntervalMs: Math.max(1, Math.round(check.ttlMs / 3)),
            unhealthyAfterMs: Math.round(check.ttlMs),
          }),
    },
  };
  return { input, check };
}

/** The instance's check status as Consul shows it: its TTL check's, else from herald's health and status. */
export function checkStatusOf(r: InstanceRecord): CheckStatus {
  if (!r.healthy || !r.enabled || r.status !== 'UP') return 'critical';
  const kept = r.metadata[CONSUL_META.check];
  return kept === 'warning' ? 'warning' : 'passing';
}

/** The Consul tags of an instance (`consul.tags`), [] when it has none or they do not parse. */
export function tagsOf(r: InstanceRecord): string[] {
  const raw = r.metadata[CONSUL_META.tags];
  if (raw === undefined) return [];
  try {
    const v: unknown = JSON.parse(raw);
    return Array.isArray(v) ? v.filter((t): t is string => typeof t === 'string') : [];
  } catch {
    return [];
  }
}

/** The instance's metadata without the Consul API's own entries: Consul's `Meta`. */
export function metaOf(r: InstanceRecord): Record<string, string> {
  return Object.fromEntries(Object.entries(r.metadata).filter(([k]) => !k.startsWith('consul.')));
}

/** The check id of an instance's TTL check (or the id Consul would give its service check). */
export function checkIdOf(r: InstanceRecord): string {
  return r.metadata[CONSUL_META.checkId] ?? `service:${r.instanceId}`;
}

/** AgentService (GET /v1/agent/services). */
export function agentService(service: string, r: InstanceRecord): Json {
  return {
    Kind: '',
    ID: r.instanceId,
    Service: service,
    Tags: tagsOf(r),
    Meta: metaOf(r),
    Port: r.port,
    Address: r.ip,
    Weights: { Passing: Math.max(1, Math.round(r.weight)), Warning: 1 },
    EnableTagOverride: false,
    Datacenter: 'dc1',
  };
}

/** HealthCheck of an instance: its TTL check, or a synthetic service check for instances registered otherwise. */
export function healthCheck(service: string, r: InstanceRecord, node: string): Json {
  const status = checkStatusOf(r);
  return {
    Node: node,
    CheckID: checkIdOf(r),
    Name: r.metadata[CONSUL_META.checkName] ?? `Service '${r.instanceId}' check`,
    Status: status,
    Notes: '',
    Output: status === 'critical' ? `herald shows the instance ${r.healthy ? r.status : 'unhealthy'}` : '',
    ServiceID: r.instanceId,
    ServiceName: service,
    ServiceTags: tagsOf(r),
    Type: r.metadata[CONSUL_META.check] === undefined ? '' : 'ttl',
    CreateIndex: r.registrationTimestamp,
    ModifyIndex: r.lastUpdatedTimestamp,
  };
}

/** CatalogService (GET /v1/catalog/service/:name). */
export function catalogService(service: string, r: InstanceRecord, node: string): Json {
  return {
    ID: '',
    Node: node,
    Address: r.ip,
    Datacenter: 'dc1',
    TaggedAddresses: null,
    NodeMeta: null,
    ServiceKind: '',
    ServiceID: r.instanceId,
    ServiceName: service,
    ServiceTags: tagsOf(r),
    ServiceAddress: r.ip,
    ServiceMeta: metaOf(r),
    ServicePort: r.port,
    ServiceEnableTagOverride: false,
    CreateIndex: r.registrationTimestamp,
    ModifyIndex: r.lastUpdatedTimestamp,
  };
}

/** ServiceEntry (GET /v1/health/service/:name). */
export function serviceEntry(service: string, r: InstanceRecord, node: string): Json {
  return {
    Node: { ID: '', Node: node, Address: r.ip, Datacenter: 'dc1', TaggedAddresses: null, Meta: null },
    Service: agentService(service, r),
    Checks: [healthCheck(service, r, node)],
  };
}
