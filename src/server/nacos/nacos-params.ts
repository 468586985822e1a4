/**
 * Nacos v1 request parameters to the core's inputs. Parameters arrive in the query string (the
 * `nacos` npm and Java clients send them there for every method) or as a form body; names follow
 * Nacos (`serviceName` possibly grouped as `GROUP@@service`, `enable`, `clusterName`, `namespaceId`),
 * and metadata is JSON or `k=v,k2=v2`. Beat-kept timing comes from the server's defaults or the
 * instance's `preserved.heart.beat.interval`, `preserved.heart.beat.timeout` and
 * `preserved.ip.delete.timeout` metadata, as in Nacos.
 */
import { RegistryError, type FieldViolation } from '../../core/errors.js';
import { DEFAULT_CLUSTER, DEFAULT_GROUP, KEY_SEPARATOR, deriveInstanceId } from '../../core/model.js';
import type { RegisterInput } from '../../core/validate.js';

export type NacosParams = Readonly<Record<string, string | undefined>>;

/** Beat-kept timing of Nacos-registered instances. */
export interface NacosTiming {
  /** Beat interval the server asks for (Nacos: 5 s). */
  readonly beatIntervalMs: number;
  /** Unhealthy after this long without a beat (Nacos: 15 s). */
  readonly beatTimeoutMs: number;
  /** Removed after this long without a beat (Nacos: 30 s). */
  readonly ipDeleteTimeoutMs: number;
}


/** Core field paths as Nacos parameter names, for error messages. */
const NACOS_NAMES: readonly (readonly [string, string])[] = [
  ['instance.instance_id', 'instanceId'],
  ['instance.ip', 'ip'],
  ['instance.port', 'port'],
  ['instance.weight', 'weight'],
  ['instance.cluster', 'clusterName'],
  ['instance.metadata', 'metadata'],
  ['instance.lease.duration_ms', 'preserved.ip.delete.timeout'],
  ['instance.lease.renewal_interval_ms', 'preserved.heart.beat.interval'],
  ['instance.lease.unhealthy_after_ms', 'preserved.heart.beat.timeout'],
  ['instance_id', 'instance'],
  ['namespace', 'namespaceId'],
  ['service', 'serviceName'],
  ['group', 'groupName'],
];

/**
 * A registry error's message with each bad field named as Nacos calls it. Only violations whose
 * field is a core path are renamed; those raised here already use Nacos's names.
 */
export function inNacosTerms(e: RegistryError): string {
  if (e.violations.length === 0) return e.message;
  return e.violations
    .map((v) => {
      const entry = NACOS_NAMES.find(([core]) => v.field === core || v.field.startsWith(`${core}[`));
      // Only the field's name is Nacos's; a value quoted after it stays as the caller sent it.
      return entry === undefined || !v.description.startsWith(entry[0]) ? v.description : `${entry[1]}${v.description.slice(entry[0].length)}`;
    })
    .join('; ');
}

function invalid(violations: FieldViolation[]): RegistryError {
  return RegistryError.invalid(violations);
}

export function bool(params: NacosParams, name: string, fallback: boolean, violations: FieldViolation[]): boolean {
  const v = params[name];
  if (v === undefined || v === '') return fallback;
  if (v === 'true') return true;
  if (v === 'false') return false;
  violations.push({ field: name, description: `${name} must be true or false (got "${v.slice(0, 32)}")` });
  return fallback;
}

function num(params: NacosParams, name: string, violations: FieldViolation[]): number | undefined {
  const v = params[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) {
    violations.push({ field: name, description: `${name} must be a number (got "${v.slice(0, 32)}")` });
    return undefined;
  }
  return n;
}

/** Nacos metadata: a JSON object, or `k=v,k2=v2`. */
export function parseMetadata(raw: string | undefined, violations: FieldViolation[]): Record<string, string> {
  if (raw === undefined || raw.trim() === '') return {};
  const text = raw.trim();
  if (text.startsWith('{')) {
    try {
      const obj = JSON.parse(text) as unknown;
      if (typeof obj === 'object' && obj !== null && !Array.isArray(obj)) {
        return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
      }
    } catch {
      // reported below
    }
    violations.push({ field: 'metadata', description: 'metadata must be a JSON object or k=v pairs separated by commas' });
    return {};
  }
  const out: Record<string, string> = {};
  // Java's String.split(",") drops trailing empty strings: Nacos accepts "version=1.4,".
  for (const pair of text.replace(/,+$/, '').split(',')) {
    const i = pair.indexOf('=');
    if (i <= 0) {
      violations.push({ field: 'metadata', description: 'metadata must be a JSON object or k=v pairs separated by commas' });
      return {};
    }
    out[pair.slice(0, i)] = pair.slice(i + 1);
  }
  return out;
}

/** `serviceName` (grouped or not) and `groupName` as group and service. */
export function serviceOf(params: NacosParams, violations: FieldViolation[]): { group: string; service: string } {
  const name = params.serviceName ?? '';
  if (name === '') {
    violations.push({ field: 'serviceName', description: "Param 'serviceName' is required." });
    return { group: DEFAULT_GROUP, service: '' };
  }
  const i = name.indexOf(KEY_SEPARATOR);
  if (i >= 0) return { group: name.slice(0, i), service: name.slice(i + KEY_SEPARATOR.length) };
  const g = params.groupName;
  return { group: g === undefined || g === '' ? DEFAULT_GROUP : g, service: name };
}

export function namespaceOf(params: NacosParams): string {
  return params.namespaceId === undefined || params.namespaceId === '' ? 'public' : params.namespaceId;
}

function required(params: NacosParams, name: string, violations: FieldViolation[]): string {
  const v = params[name];
  if (v === undefined || v === '') violations.push({ field: name, description: `Param '${name}' is required.` });
  return v ?? '';
}

function timing(metadata: Record<string, string>, t: NacosTiming): { renewalIntervalMs: number; unhealthyAfterMs: number; leaseDurationMs: number } {
  const ms = (key: string, fallback: number): number => {
    const n = Number(metadata[key]);
    return metadata[key] !== undefined && Number.isSafeInteger(n) && n > 0 ? n : fallback;
  };
  return {
    renewalIntervalMs: ms('preserved.heart.beat.interval', t.beatIntervalMs),
    unhealthyAfterMs: ms('preserved.heart.beat.timeout', t.beatTimeoutMs),
    leaseDurationMs: ms('preserved.ip.delete.timeout', t.ipDeleteTimeoutMs),
  };
}

/** An instance registration (POST /instance) as a core RegisterInput; throws INVALID_ARGUMENT. */
export function registration(params: NacosParams, t: NacosTiming): RegisterInput {
  const v: FieldViolation[] = [];
  const { group, service } = serviceOf(params, v);
  const ip = required(params, 'ip', v);
  const portText = required(params, 'port', v);
  const port = portText === '' ? undefined : Number(portText);
  if (port !== undefined && !Number.isInteger(port)) v.push({ field: 'port', description: `port must be an integer (got "${portText.slice(0, 32)}")` });
  const weight = num(params, 'weight', v);
  const enabled = bool(params, params.enable !== undefined ? 'enable' : 'enabled', true, v);
  const healthy = bool(params, 'healthy', true, v);
  const ephemeral = bool(params, 'ephemeral', true, v);
  const metadata = parseMetadata(params.metadata, v);
  if (v.length > 0) throw invalid(v);
  const cluster = params.clusterName === undefined || params.clusterName === '' ? DEFAULT_CLUSTER : params.clusterName;
  const beat = ephemeral ? timing(metadata, t) : { renewalIntervalMs: undefined, unhealthyAfterMs: 0, leaseDurationMs: undefined };
  return {
    namespace: namespaceOf(params),
    group,
    service,
    instance: {
      ip,
      port,
      weight,
      enabled,
      healthy,
      ephemeral,
      cluster,
      metadata,
      ...beat,
    },
  };
}

/** The instance a deregistration or beat names: `ip#port#cluster#group@@service`. */
export function instanceAddress(
  params: NacosParams,
  overrides: { ip?: string | undefined; port?: number | undefined; cluster?: string | undefined } = {},
): { namespace: string; group: string; service: string; instanceId: string } {
  const v: FieldViolation[] = [];
  const { group, service } = serviceOf(params, v);
  const ip = overrides.ip ?? required(params, 'ip', v);
  const portText = overrides.port === undefined ? required(params, 'port', v) : String(overrides.port);
  const port = Number(portText);
  if (portText !== '' && !Number.isInteger(port)) v.push({ field: 'port', description: `port must be an integer (got "${portText.slice(0, 32)}")` });
  const clusterParam = overrides.cluster ?? params.clusterName;
  const cluster = clusterParam === undefined || clusterParam === '' ? DEFAULT_CLUSTER : clusterParam;
  if (v.length > 0) throw invalid(v);
  return { namespace: namespaceOf(params), group, service, instanceId: deriveInstanceId(ip, port, cluster, group, service) };
}

/** A Nacos client beat (`beat` JSON): what the server needs to renew, or to re-create, the instance. */
export interface BeatInfo {
  readonly ip: string;
  readonly port: number;
  readonly cluster: string | undefined;
  readonly weight: number | undefined;
  readonly metadata: Record<string, string>;
}

export function beatInfo(params: NacosParams): BeatInfo | undefined {
  const raw = params.beat;
  if (raw === undefined || raw === '') return undefined;
  let b: Record<string, unknown>;
  try {
    const parsed = JSON.parse(raw) as unknown;
    if (typeof parsed !== 'object' || parsed === null) throw new Error('not an object');
    b = parsed as Record<string, unknown>;
  } catch {
    throw invalid([{ field: 'beat', description: 'beat must be a JSON object' }]);
  }
  const port = Number(b.port);
  if (typeof b.ip !== 'string' || b.ip === '' || !Number.isInteger(port)) {
    throw invalid([{ field: 'beat', description: 'beat must carry ip and port' }]);
  }
  const meta = typeof b.metadata === 'object' && b.metadata !== null ? (b.metadata as Record<string, unknown>) : {};
  return {
    ip: b.ip,
    port,
    cluster: typeof b.cluster === 'string' && b.cluster !== '' ? b.cluster : undefined,
    weight: typeof b.weight === 'number' ? b.weight : undefined,
    metadata: Object.fromEntries(Object.entries(meta).map(([k, val]) => [k, typeof val === 'string' ? val : JSON.stringify(val)])),
  };
}
