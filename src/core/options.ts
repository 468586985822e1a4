/**
 * The registry's rules and limits. Every limit is a named value with a default; the server exposes
 * each as a flag and environment variable (see README).
 */
export interface RegistryOptions {
  /** Lease duration when a registrant gives none. */
  readonly defaultLeaseDurationMs: number;
  /** Renewal interval when a registrant gives none (capped at a third of a shorter lease). */
  readonly defaultRenewalIntervalMs: number;
  /** Shortest lease a registrant may ask for. */
  readonly minLeaseDurationMs: number;
  /** Longest lease a registrant may ask for. */
  readonly maxLeaseDurationMs: number;
  /** Self-preservation: stop evicting when renewals fall under the expected rate × threshold. */
  readonly selfPreservation: boolean;
  /** Share of expected renewals below which self-preservation engages; also caps each eviction run. */
  readonly renewalPercentThreshold: number;
  /**
   * Self-preservation engages only with at least this many lease-bound instances. With fewer, losing
   * one instance already drops renewals below 85 %, which means instances died, not a partition.
   */
  readonly selfPreservationMinInstances: number;
  /** How long changes stay in the recently-changed queue (delta fetch window). */
  readonly deltaRetentionMs: number;
  /** How long an empty service (no instances, no settings) is kept before it is forgotten. */
  readonly emptyServiceRetentionMs: number;
  /** cache_millis reported in ServiceInfo: how long clients may trust a snapshot before polling. */
  readonly cacheMillis: number;
  /** Protect threshold of services that have none set (0 = protection off). */
  readonly defaultProtectThreshold: number;
  /** Longest namespace, group, service or cluster name. */
  readonly maxNameLength: number;
  /** Longest instance id. */
  readonly maxInstanceIdLength: number;
  /** Most instances one service may hold. */
  readonly maxInstancesPerService: number;
  /** Most metadata entries per instance (and per service). */
  readonly maxMetadataEntries: number;
  /** Longest metadata key, in characters. */
  readonly maxMetadataKeyLength: number;
  /** Most bytes (UTF-8) of metadata keys plus values per instance (and per service). */
  readonly maxMetadataBytes: number;
  /**
   * How far ahead of this node's clock a caller's timestamp (last_dirty_timestamp) or a peer's write
   * version may be. Beyond it the request is refused: a record dated in the future would win every
   * conflict until that time.
   */
  readonly maxClockSkewMs: number;
  /**
   * How long a cancel's tombstone is kept at least, so replications and anti-entropy repairs still
   * carrying the cancelled instance cannot bring it back. An ephemeral instance's tombstone is also
   * kept for its lease plus maxClockSkewMs (a copy older than that has expired anyway).
   */
  readonly tombstoneRetentionMs: number;
  /** How long the tombstone of a persistent (non-ephemeral) instance is kept: it has no lease to run out. */
  readonly persistentTombstoneRetentionMs: number;
  /** Most tombstones kept; beyond it the oldest are dropped. */
  readonly maxTombstones: number;
}

export const DEFAULT_REGISTRY_OPTIONS: RegistryOptions = Object.freeze({
  defaultLeaseDurationMs: 90_000,
  defaultRenewalIntervalMs: 30_000,
  minLeaseDurationMs: 1_000,
  maxLeaseDurationMs: 86_400_000,
  selfPreservation: true,
  renewalPercentThreshold: 0.85,
  selfPreservationMinInstances: 10,
  deltaRetentionMs: 180_000,
  emptyServiceRetentionMs: 60_000,
  cacheMillis: 10_000,
  defaultProtectThreshold: 0,
  maxNameLength: 256,
  maxInstanceIdLength: 256,
  maxInstancesPerService: 10_000,
  maxMetadataEntries: 64,
  maxMetadataKeyLength: 128,
  maxMetadataBytes: 8_192,
  maxClockSkewMs: 60_000,
  tombstoneRetentionMs: 300_000,
  persistentTombstoneRetentionMs: 86_400_000,
  maxTombstones: 1_000_000,
});

/** Fills defaults and rejects option sets that cannot work (a programming or configuration error). */
export function resolveRegistryOptions(partial: Partial<RegistryOptions> = {}): RegistryOptions {
  const o: RegistryOptions = { ...DEFAULT_REGISTRY_OPTIONS, ...partial };
  const positive: (keyof RegistryOptions)[] = [
    'defaultLeaseDurationMs',
    'defaultRenewalIntervalMs',
    'minLeaseDurationMs',
    'maxLeaseDurationMs',
    'maxNameLength',
    'maxInstanceIdLength',
    'maxInstancesPerService',
    'maxMetadataKeyLength',
    'maxClockSkewMs',
    'tombstoneRetentionMs',
    'persistentTombstoneRetentionMs',
    'maxTombstones',
  ];
  for (const k of positive) {
    const v = o[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new RangeError(`${k} must be a positive number`);
  }
  const nonNegative: (keyof RegistryOptions)[] = [
    'selfPreservationMinInstances',
    'deltaRetentionMs',
    'emptyServiceRetentionMs',
    'cacheMillis',
    'maxMetadataEntries',
    'maxMetadataBytes',
  ];
  for (const k of nonNegative) {
    const v = o[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new RangeError(`${k} must be 0 or more`);
  }
  if (!(o.renewalPercentThreshold > 0 && o.renewalPercentThreshold <= 1)) {
    throw new RangeError('renewalPercentThreshold must be in (0, 1]');
  }
  if (!(o.defaultProtectThreshold >= 0 && o.defaultProtectThreshold <= 1)) {
    throw new RangeError('defaultProtectThreshold must be in [0, 1]');
  }
  if (o.minLeaseDurationMs > o.maxLeaseDurationMs) throw new RangeError('minLeaseDurationMs exceeds maxLeaseDurationMs');
  if (o.defaultLeaseDurationMs < o.minLeaseDurationMs || o.defaultLeaseDurationMs > o.maxLeaseDurationMs) {
    throw new RangeError('defaultLeaseDurationMs must lie within [minLeaseDurationMs, maxLeaseDurationMs]');
  }
  if (o.defaultRenewalIntervalMs >= o.defaultLeaseDurationMs) {
    throw new RangeError('defaultRenewalIntervalMs must be shorter than defaultLeaseDurationMs');
  }
  return Object.freeze(o);
}
