import { ManualClock, Registry, type RegistryOptions } from '../../src/core/index.js';
import type { InstanceInput } from '../../src/core/validate.js';

/** A registry on a manual clock starting at t = 1 000 000 ms, with a seeded random source. */
export function makeRegistry(options: Partial<RegistryOptions> = {}, startMs = 1_000_000): { registry: Registry; clock: ManualClock } {
  const clock = new ManualClock(startMs);
  let seed = 42;
  const random = (): number => {
    // mulberry32: deterministic, good enough to shuffle.
    seed = (seed + 0x6d2b79f5) | 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { registry: new Registry({ clock, random, options }), clock };
}

export function inst(overrides: InstanceInput = {}): InstanceInput {
  return { ip: '10.0.0.1', port: 8080, ...overrides };
}
