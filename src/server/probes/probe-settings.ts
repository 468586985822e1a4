/**
 * How one persistent instance is probed: the server's defaults, overridden by its service's
 * metadata, overridden by its own (Nacos sets the checker per cluster; herald per service or
 * instance). Keys: `herald.probe` (tcp, http, none), `herald.probe.port` (default the instance's
 * port), `herald.probe.path` (HTTP, default /), `herald.probe.interval-ms`, `herald.probe.timeout-ms`,
 * `herald.probe.unhealthy-threshold`, `herald.probe.healthy-threshold`. A value that does not parse
 * is ignored (the next level applies).
 */
import { PROBE_KINDS, type ProbeKind } from '../config.js';

export interface ProbeDefaults {
  readonly kind: ProbeKind;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly unhealthyThreshold: number;
  readonly healthyThreshold: number;
}

export interface ProbeSettings extends ProbeDefaults {
  readonly port: number;
  readonly path: string;
}

type Metadata = Readonly<Record<string, string>>;

function pick(key: string, instance: Metadata, service: Metadata): string | undefined {
  return instance[key] ?? service[key];
}

function positive(v: string | undefined, min: number, max: number): number | undefined {
  if (v === undefined || !/^\d+$/.test(v)) return undefined;
  const n = Number(v);
  return n >= min && n <= max ? n : undefined;
}

export function probeSettings(defaults: ProbeDefaults, port: number, instance: Metadata, service: Metadata): ProbeSettings {
  const kind = pick('herald.probe', instance, service);
  const intervalMs = positive(pick('herald.probe.interval-ms', instance, service), 100, 86_400_000) ?? defaults.intervalMs;
  const timeoutMs = Math.min(positive(pick('herald.probe.timeout-ms', instance, service), 10, 86_400_000) ?? defaults.timeoutMs, intervalMs);
  const path = pick('herald.probe.path', instance, service);
  return {
    kind: (PROBE_KINDS as readonly string[]).includes(kind ?? '') ? (kind as ProbeKind) : defaults.kind,
    port: positive(pick('herald.probe.port', instance, service), 1, 65_535) ?? port,
    path: path !== undefined && path.startsWith('/') ? path : '/',
    intervalMs,
    timeoutMs,
    unhealthyThreshold: positive(pick('herald.probe.unhealthy-threshold', instance, service), 1, 1_000) ?? defaults.unhealthyThreshold,
    healthyThreshold: positive(pick('herald.probe.healthy-threshold', instance, service), 1, 1_000) ?? defaults.healthyThreshold,
  };
}
