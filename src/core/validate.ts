/**
 * Request validation and normalisation. Every bad field yields one violation naming the field as the
 * public contract spells it (`instance.ip`, `instance_id`); all violations of a request are reported
 * together, and nothing is changed when there is any.
 */
import { RegistryError, type FieldViolation } from './errors.js';
import { DEFAULT_CLUSTER, DEFAULT_GROUP, DEFAULT_NAMESPACE, deriveInstanceId, isInstanceStatus, type InstanceRef, type InstanceStatus, type ServiceRef } from './model.js';
import type { RegistryOptions } from './options.js';

/** An instance as a registrant describes it; anything may be missing or wrong. */
export interface InstanceInput {
  readonly instanceId?: string | undefined;
  readonly ip?: string | undefined;
  readonly port?: number | undefined;
  readonly weight?: number | undefined;
  readonly healthy?: boolean | undefined;
  readonly enabled?: boolean | undefined;
  readonly ephemeral?: boolean | undefined;
  readonly cluster?: string | undefined;
  readonly metadata?: Readonly<Record<string, string>> | undefined;
  /** A status name (UP, DOWN, ...); empty or missing = UP. */
  readonly status?: string | undefined;
  /** Carried by replication only: the override the sender holds. */
  readonly overriddenStatus?: string | undefined;
  /** 0 or missing = now. */
  readonly lastDirtyTimestamp?: number | undefined;
  /** 0 or missing = default. */
  readonly leaseDurationMs?: number | undefined;
  /** 0 or missing = default (at most a third of the lease). */
  readonly renewalIntervalMs?: number | undefined;
  /** Shown unhealthy after this long without a renewal (Nacos's beat timeout); 0 or missing = never. */
  readonly unhealthyAfterMs?: number | undefined;
}

/** A registration request in domain terms. */
export interface RegisterInput {
  readonly namespace?: string | undefined;
  readonly group?: string | undefined;
  readonly service?: string | undefined;
  readonly instance?: InstanceInput | undefined;
}

/** A valid, defaulted registration. */
export interface Registration {
  readonly ref: InstanceRef;
  readonly ip: string;
  readonly port: number;
  readonly weight: number;
  readonly healthy: boolean;
  readonly enabled: boolean;
  readonly ephemeral: boolean;
  readonly cluster: string;
  readonly metadata: Readonly<Record<string, string>>;
  readonly status: InstanceStatus;
  readonly overriddenStatus: InstanceStatus | undefined;
  readonly lastDirtyTimestamp: number;
  readonly leaseDurationMs: number;
  readonly renewalIntervalMs: number;
  readonly unhealthyAfterMs: number;
}

/** Letters, digits, '.', '_', '-' and ':' (Dubbo-style names such as `providers:com.acme.Api:1.0:`). */
const NAME_PATTERN = /^[A-Za-z0-9._:-]+$/;
// eslint-disable-next-line no-control-regex -- control characters are exactly what is rejected
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const HOST_LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const MAX_WEIGHT = 10_000;

/** Collects violations while normalising. */
class Checker {
  readonly violations: FieldViolation[] = [];

  add(field: string, description: string): void {
    this.violations.push({ field, description });
  }

  /** A name with a default when empty. */
  name(field: string, value: string | undefined, fallback: string | undefined, maxLength: number): string {
    const v = value ?? '';
    if (v === '') {
      if (fallback === undefined) this.add(field, `${field} is required`);
      return fallback ?? '';
    }
    if (v.length > maxLength) {
      this.add(field, `${field} is ${v.length} characters long, more than the limit of ${maxLength}`);
    } else if (!NAME_PATTERN.test(v)) {
      this.add(field, `${field} "${printable(v)}" may only contain letters, digits, '.', '_', '-' and ':'`);
    }
    return v;
  }

  throwIfAny(): void {
    if (this.violations.length > 0) throw RegistryError.invalid(this.violations);
  }
}

/** Quotes a user string for a message without letting it break the message. */
function printable(s: string): string {
  const short = s.length > 64 ? `${s.slice(0, 61)}...` : s;
  return JSON.stringify(short).slice(1, -1);
}

function isIp(value: string): boolean {
  if (IPV4.test(value)) return true;
  if (!value.includes(':')) return false;
  try {
    // The WHATWG URL parser validates IPv6 literals (zone ids are not allowed, as in URLs).
    return new URL(`http://[${value}]/`).hostname.length > 2;
  } catch {
    return false;
  }
}

function isHostName(value: string): boolean {
  if (value.length > 253) return false;
  const labels = value.endsWith('.') ? value.slice(0, -1).split('.') : value.split('.');
  return labels.every((l) => HOST_LABEL.test(l)) && !/^[\d.]+$/.test(value);
}

function checkServiceRef(c: Checker, input: { namespace?: string | undefined; group?: string | undefined; service?: string | undefined }, o: RegistryOptions): ServiceRef {
  return {
    namespace: c.name('namespace', input.namespace, DEFAULT_NAMESPACE, o.maxNameLength),
    group: c.name('group', input.group, DEFAULT_GROUP, o.maxNameLength),
    service: c.name('service', input.service, undefined, o.maxNameLength),
  };
}

function checkInstanceId(c: Checker, field: string, value: string, o: RegistryOptions): void {
  if (value.length > o.maxInstanceIdLength) {
    c.add(field, `${field} is ${value.length} characters long, more than the limit of ${o.maxInstanceIdLength}`);
  } else if (CONTROL_CHARS.test(value)) {
    c.add(field, `${field} must not contain control characters`);
  }
}

/** Validates metadata (of an instance or a service). Returns a frozen copy. */
export function checkMetadata(
  c: { add(field: string, description: string): void },
  field: string,
  metadata: Readonly<Record<string, string>> | undefined,
  o: RegistryOptions,
): Readonly<Record<string, string>> {
  const entries = Object.entries(metadata ?? {});
  if (entries.length > o.maxMetadataEntries) {
    c.add(field, `${field} has ${entries.length} entries, more than the limit of ${o.maxMetadataEntries}`);
    return {};
  }
  let bytes = 0;
  const copy: Record<string, string> = {};
  for (const [k, v] of entries) {
    if (k.length === 0) c.add(`${field}[""]`, `${field} keys must not be empty`);
    else if (k.length > o.maxMetadataKeyLength) {
      c.add(`${field}["${printable(k)}"]`, `${field} key "${printable(k)}" is longer than ${o.maxMetadataKeyLength} characters`);
    }
    if (typeof v !== 'string') c.add(`${field}["${printable(k)}"]`, `${field}["${printable(k)}"] must be a string`);
    bytes += Buffer.byteLength(k) + (typeof v === 'string' ? Buffer.byteLength(v) : 0);
    copy[k] = v;
  }
  if (bytes > o.maxMetadataBytes) {
    c.add(field, `${field} is ${bytes} bytes, more than the limit of ${o.maxMetadataBytes}`);
  }
  return Object.freeze(copy);
}

function checkStatus(c: Checker, field: string, value: string | undefined, fallback: InstanceStatus | undefined): InstanceStatus | undefined {
  if (value === undefined || value === '') return fallback;
  if (!isInstanceStatus(value)) {
    c.add(field, `${field} "${printable(value)}" is not one of UP, DOWN, STARTING, OUT_OF_SERVICE, UNKNOWN`);
    return fallback;
  }
  return value;
}

/** A caller's timestamp: ms since the epoch, at most `maxSkewMs` ahead of the server's clock. */
function checkTimestamp(c: Checker, field: string, value: number | undefined, fallback: number, nowMs: number, maxSkewMs: number): number {
  if (value === undefined || value === 0) return fallback;
  if (!Number.isSafeInteger(value) || value < 0) {
    c.add(field, `${field} must be milliseconds since the epoch (a non-negative integer)`);
    return fallback;
  }
  if (value > nowMs + maxSkewMs) {
    c.add(field, `${field} ${value} is ${value - nowMs} ms ahead of the server's clock; at most ${maxSkewMs} ms of clock skew is accepted (check the caller's clock)`);
    return fallback;
  }
  return value;
}

function checkLease(c: Checker, i: InstanceInput, o: RegistryOptions): { leaseDurationMs: number; renewalIntervalMs: number; unhealthyAfterMs: number } {
  let duration = o.defaultLeaseDurationMs;
  const d = i.leaseDurationMs;
  if (d !== undefined && d !== 0) {
    if (!Number.isSafeInteger(d) || d < o.minLeaseDurationMs || d > o.maxLeaseDurationMs) {
      c.add('instance.lease.duration_ms', `instance.lease.duration_ms must be between ${o.minLeaseDurationMs} and ${o.maxLeaseDurationMs} (got ${d})`);
    } else {
      duration = d;
    }
  }
  let interval = Math.min(o.defaultRenewalIntervalMs, Math.max(1, Math.floor(duration / 3)));
  const r = i.renewalIntervalMs;
  if (r !== undefined && r !== 0) {
    if (!Number.isSafeInteger(r) || r < 1 || r >= duration) {
      c.add('instance.lease.renewal_interval_ms', `instance.lease.renewal_interval_ms must be at least 1 and shorter than the lease duration of ${duration} ms (got ${r})`);
    } else {
      interval = r;
    }
  }
  let unhealthyAfterMs = 0;
  const u = i.unhealthyAfterMs;
  if (u !== undefined && u !== 0) {
    if (!Number.isSafeInteger(u) || u < interval || u > duration) {
      c.add(
        'instance.lease.unhealthy_after_ms',
        `instance.lease.unhealthy_after_ms must be 0 or between the renewal interval (${interval} ms) and the lease duration (${duration} ms) (got ${u})`,
      );
    } else {
      unhealthyAfterMs = u;
    }
  }
  return { leaseDurationMs: duration, renewalIntervalMs: interval, unhealthyAfterMs };
}

/** Validates and defaults a registration. Throws INVALID_ARGUMENT listing every bad field. */
export function normalizeRegistration(input: RegisterInput, o: RegistryOptions, nowMs: number): Registration {
  const c = new Checker();
  const svc = checkServiceRef(c, input, o);
  const i = input.instance;
  if (i === undefined) {
    c.add('instance', 'instance is required');
    c.throwIfAny();
    throw new Error('unreachable');
  }
  const ip = i.ip ?? '';
  if (ip === '') c.add('instance.ip', 'instance.ip is required');
  else if (!isIp(ip) && !isHostName(ip)) {
    c.add('instance.ip', `instance.ip "${printable(ip)}" is not an IPv4 or IPv6 address or a host name`);
  }
  const port = i.port ?? 0;
  if (port === 0) c.add('instance.port', 'instance.port is required');
  else if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    c.add('instance.port', `instance.port must be between 1 and 65535 (got ${port})`);
  }
  let weight = 1;
  if (i.weight !== undefined) {
    if (!Number.isFinite(i.weight) || i.weight < 0 || i.weight > MAX_WEIGHT) {
      c.add('instance.weight', `instance.weight must be between 0 and ${MAX_WEIGHT} (got ${i.weight})`);
    } else {
      weight = i.weight;
    }
  }
  const cluster = c.name('instance.cluster', i.cluster, DEFAULT_CLUSTER, o.maxNameLength);
  const metadata = checkMetadata(c, 'instance.metadata', i.metadata, o);
  const status = checkStatus(c, 'instance.status', i.status, 'UP') ?? 'UP';
  const overriddenStatus = checkStatus(c, 'instance.overridden_status', i.overriddenStatus, undefined);
  const lastDirtyTimestamp = checkTimestamp(c, 'instance.last_dirty_timestamp', i.lastDirtyTimestamp, nowMs, nowMs, o.maxClockSkewMs);
  const lease = checkLease(c, i, o);
  const instanceId = i.instanceId !== undefined && i.instanceId !== '' ? i.instanceId : deriveInstanceId(ip, port, cluster, svc.group, svc.service);
  checkInstanceId(c, 'instance.instance_id', instanceId, o);
  c.throwIfAny();
  // Field by field, not spread: one hidden class for all (see instance-record.ts).
  return {
    ref: { namespace: svc.namespace, group: svc.group, service: svc.service, instanceId },
    ip,
    port,
    weight,
    healthy: i.healthy ?? true,
    enabled: i.enabled ?? true,
    ephemeral: i.ephemeral ?? true,
    cluster,
    metadata,
    // The UNKNOWN override means "none" in Eureka's wire format.
    overriddenStatus: overriddenStatus === 'UNKNOWN' ? undefined : overriddenStatus,
    status,
    lastDirtyTimestamp,
    leaseDurationMs: lease.leaseDurationMs,
    renewalIntervalMs: lease.renewalIntervalMs,
    unhealthyAfterMs: lease.unhealthyAfterMs,
  };
}

/** Validates the address of a service (namespace and group default). */
export function normalizeServiceRef(input: { namespace?: string | undefined; group?: string | undefined; service?: string | undefined }, o: RegistryOptions): ServiceRef {
  const c = new Checker();
  const ref = checkServiceRef(c, input, o);
  c.throwIfAny();
  return ref;
}

/** Validates the address of an instance. */
export function normalizeInstanceRef(
  input: { namespace?: string | undefined; group?: string | undefined; service?: string | undefined; instanceId?: string | undefined },
  o: RegistryOptions,
): InstanceRef {
  const c = new Checker();
  const ref = checkServiceRef(c, input, o);
  const id = input.instanceId ?? '';
  if (id === '') c.add('instance_id', 'instance_id is required');
  else checkInstanceId(c, 'instance_id', id, o);
  c.throwIfAny();
  return { namespace: ref.namespace, group: ref.group, service: ref.service, instanceId: id };
}

/** Validates a namespace name alone (empty = default). */
export function normalizeNamespace(namespace: string | undefined, o: RegistryOptions): string {
  const c = new Checker();
  const ns = c.name('namespace', namespace, DEFAULT_NAMESPACE, o.maxNameLength);
  c.throwIfAny();
  return ns;
}

/** Validates an optional group filter (empty = all groups, returned as undefined). */
export function normalizeGroupFilter(group: string | undefined, o: RegistryOptions): string | undefined {
  if (group === undefined || group === '') return undefined;
  const c = new Checker();
  const g = c.name('group', group, undefined, o.maxNameLength);
  c.throwIfAny();
  return g;
}

/** Validates a status given in a request (SetStatus and friends). */
export function normalizeStatus(field: string, value: string | undefined, required: boolean): InstanceStatus | undefined {
  const c = new Checker();
  if (required && (value === undefined || value === '')) c.add(field, `${field} is required`);
  const s = checkStatus(c, field, value, undefined);
  c.throwIfAny();
  return s;
}

/** Validates a dirty timestamp given in a request (at most `maxClockSkewMs` ahead); 0 or missing = undefined. */
export function normalizeTimestamp(field: string, value: number | undefined, nowMs: number, o: RegistryOptions): number | undefined {
  const c = new Checker();
  const t = checkTimestamp(c, field, value, 0, nowMs, o.maxClockSkewMs);
  c.throwIfAny();
  return t === 0 ? undefined : t;
}

/** Validates service settings (UpdateService). */
export function normalizeServiceSettings(
  input: { protectThreshold?: number | undefined; metadata?: Readonly<Record<string, string>> | undefined },
  o: RegistryOptions,
): { protectThreshold: number; metadata: Readonly<Record<string, string>> } {
  const c = new Checker();
  const t = input.protectThreshold ?? 0;
  if (!Number.isFinite(t) || t < 0 || t > 1) c.add('protect_threshold', `protect_threshold must be between 0 and 1 (got ${t})`);
  const metadata = checkMetadata(c, 'metadata', input.metadata, o);
  c.throwIfAny();
  return { protectThreshold: t, metadata };
}
