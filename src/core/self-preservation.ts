/**
 * Self-preservation (Eureka): when the server receives fewer renewals than
 * `expected × threshold`, it assumes it is cut off from its clients rather than that they all died,
 * and stops evicting until renewals recover.
 */
export interface SelfPreservationInput {
  readonly enabled: boolean;
  /** Sum over lease-bound instances of 60 000 / renewal interval. */
  readonly expectedRenewsPerMinute: number;
  /** Renewals received in the trailing minute. */
  readonly renewsLastMinute: number;
  /** Lease-bound instances registered. */
  readonly leaseBoundInstances: number;
  readonly renewalPercentThreshold: number;
  readonly minInstances: number;
}

export interface SelfPreservationState {
  /** Renewals per minute below which eviction stops (Eureka's numberOfRenewsPerMinThreshold). */
  readonly renewsThreshold: number;
  /** True when eviction is suspended. */
  readonly active: boolean;
}

export function selfPreservationState(i: SelfPreservationInput): SelfPreservationState {
  const renewsThreshold = Math.floor(i.expectedRenewsPerMinute * i.renewalPercentThreshold);
  if (!i.enabled || i.leaseBoundInstances < i.minInstances) return { renewsThreshold, active: false };
  // As in Eureka: expiry is enabled only while renewals exceed a positive threshold.
  return { renewsThreshold, active: !(renewsThreshold > 0 && i.renewsLastMinute > renewsThreshold) };
}

/**
 * How many instances one eviction run may remove: `size − ⌊size × threshold⌋`, so a mass expiry is
 * spread over several runs instead of emptying the registry at once.
 */
export function evictionLimit(registrySize: number, renewalPercentThreshold: number): number {
  return registrySize - Math.floor(registrySize * renewalPercentThreshold);
}
