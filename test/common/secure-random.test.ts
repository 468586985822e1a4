import { describe, expect, it } from 'vitest';
import { createSecureRandom } from '../../src/common/secure-random.js';

describe('the secure random source', () => {
  it('gives uniform floats in [0, 1), across many refills of its buffer', () => {
    const random = createSecureRandom();
    const buckets = new Array<number>(10).fill(0);
    const n = 100_000;
    for (let i = 0; i < n; i++) {
      const x = random();
      expect(x >= 0 && x < 1).toBe(true);
      buckets[Math.floor(x * 10)] = (buckets[Math.floor(x * 10)] ?? 0) + 1;
    }
    // Each tenth holds 10 % ± 1 % (more than 10 standard deviations of slack).
    for (const b of buckets) expect(Math.abs(b / n - 0.1)).toBeLessThan(0.01);
  });
});
