/**
 * Choosing what to evict. The core decides, the shell acts: `pickForEviction` returns a bounded
 * random sample of the expired instances, drawn across all services so one service is not emptied
 * while others keep their dead instances.
 */

/**
 * Returns `limit` items drawn uniformly without replacement from `candidates` (all of them when
 * there are no more than `limit`). `random` returns a float in [0, 1). Does not modify `candidates`.
 */
export function pickForEviction<T>(candidates: readonly T[], limit: number, random: () => number): T[] {
  if (limit <= 0) return [];
  if (candidates.length <= limit) return [...candidates];
  const pool = [...candidates];
  // Partial Fisher–Yates: the first `limit` slots end up a uniform sample.
  for (let i = 0; i < limit; i++) {
    const j = i + Math.floor(random() * (pool.length - i));
    const a = pool[i] as T;
    pool[i] = pool[j] as T;
    pool[j] = a;
  }
  return pool.slice(0, limit);
}
