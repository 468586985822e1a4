/**
 * gRPC's length-prefixed message framing over HTTP/2 DATA: one byte "compressed" flag (always 0
 * here), a 4-byte big-endian length, the message. DATA chunks may split or join frames.
 */
export function encodeGrpcFrame(message: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(5 + message.length);
  frame[0] = 0;
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  return frame;
}

/** Reassembles messages from DATA chunks in arrival order; joins a message's chunks once, when it is complete. */
export class GrpcFrameDecoder {
  private chunks: Buffer[] = [];
  private length = 0;
  /** Prefix plus message length of the message being received; undefined until its prefix is in. */
  private needed: number | undefined;

  /** Adds a chunk; returns the messages it completed (their bytes, without the prefix). */
  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.length += chunk.length;
    const out: Buffer[] = [];
    for (;;) {
      if (this.needed === undefined) {
        if (this.length < 5) break;
        const prefix = this.joined();
        if (prefix[0] !== 0) throw new Error('compressed gRPC messages are not supported');
        this.needed = 5 + prefix.readUInt32BE(1);
      }
      if (this.length < this.needed) break;
      const all = this.joined();
      out.push(all.subarray(5, this.needed));
      const rest = all.subarray(this.needed);
      this.chunks = rest.length > 0 ? [rest] : [];
      this.length = rest.length;
      this.needed = undefined;
    }
    return out;
  }

  /** Everything buffered as one Buffer (joining the chunks, once, if there are several). */
  private joined(): Buffer {
    const first = this.chunks[0];
    if (this.chunks.length === 1 && first !== undefined) return first;
    const all = Buffer.concat(this.chunks, this.length);
    this.chunks = [all];
    return all;
  }
}
