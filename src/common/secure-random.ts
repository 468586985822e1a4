/**
 * Uniform floats in [0, 1) from the operating system's CSPRNG, for choices that should not be
 * predictable (eviction victims). 53 random bits per value, drawn from a buffer refilled in
 * blocks, so a call costs no system call in the common case.
 */
import { randomFillSync } from 'node:crypto';

const BLOCK = 8 * 256;

export function createSecureRandom(): () => number {
  const buf = Buffer.alloc(BLOCK);
  let offset = BLOCK;
  return () => {
    if (offset + 8 > BLOCK) {
      randomFillSync(buf);
      offset = 0;
    }
    // 32 high bits and 21 low bits: 53 bits, the precision of a double in [0, 1).
    const high = buf.readUInt32BE(offset);
    const low = buf.readUInt32BE(offset + 4) >>> 11;
    offset += 8;
    return (high * 2 ** 21 + low) / 2 ** 53;
  };
}
