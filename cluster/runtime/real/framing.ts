// Length-prefixed JSON frames for node-to-node messages (lesson 1, "the world is concurrent":
// nodes share nothing and talk only by messages). A frame is a 4-byte big-endian length followed
// by that many bytes of UTF-8 JSON. The framing is plain bytes on a plain TCP stream, so a
// Toxiproxy proxy can sit on any link and slice, delay or cut it without understanding it.
//
// Worked example: the message {"a":1} (7 bytes) travels as 00 00 00 07 7b 22 61 22 3a 31 7d.
// TCP may deliver those 11 bytes in any split (1 + 10, 4 + 7, 11 at once, or glued to the next
// frame); the decoder buffers until a whole frame is there.

/** A frame larger than this is refused on both sides: bigger than any legal message (values are
 * capped at 1 MiB by the HTTP layer, and an object carries a bounded number of siblings). */
export const frameSizeMaxBytes = 16 * 1024 * 1024;
const headerSizeBytes = 4;

export class FrameError extends Error {
  override name = "FrameError";
}

export function encodeFrame(value: unknown): Buffer {
  return encodeFrames([JSON.stringify(value)]);
}

/** Frames for JSON texts already encoded (each message is stringified once), back to back in
 * one buffer: what a sender writes to a socket in one call. */
export function encodeFrames(texts: readonly string[]): Buffer {
  let totalBytes = 0;
  const sizes = new Array<number>(texts.length);
  for (const [index, text] of texts.entries()) {
    const bodyBytes = Buffer.byteLength(text, "utf8");
    if (bodyBytes > frameSizeMaxBytes) {
      throw new FrameError(
        `Expected a frame of at most ${frameSizeMaxBytes} bytes, got ${bodyBytes}`,
      );
    }
    sizes[index] = bodyBytes;
    totalBytes += headerSizeBytes + bodyBytes;
  }
  const frames = Buffer.allocUnsafe(totalBytes);
  let offset = 0;
  for (const [index, text] of texts.entries()) {
    frames.writeUInt32BE(sizes[index]!, offset);
    offset += headerSizeBytes;
    offset += frames.write(text, offset, "utf8");
  }
  return frames;
}

/**
 * Turns a stream of chunks back into JSON values. `push` returns every complete frame the chunk
 * finished, in order, and throws FrameError on a length over the limit or a body that is not
 * JSON: the caller closes that connection (the stream can no longer be trusted to be in sync).
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private bufferedBytes = 0;

  push(chunk: Buffer): unknown[] {
    this.chunks.push(chunk);
    this.bufferedBytes += chunk.length;
    const values: unknown[] = [];
    for (;;) {
      if (this.bufferedBytes < headerSizeBytes) return values;
      const head = this.peek(headerSizeBytes);
      const bodyBytes = head.readUInt32BE(0);
      if (bodyBytes > frameSizeMaxBytes) {
        throw new FrameError(
          `Expected a frame of at most ${frameSizeMaxBytes} bytes, got a length of ${bodyBytes}`,
        );
      }
      if (this.bufferedBytes < headerSizeBytes + bodyBytes) return values;
      const frame = this.take(headerSizeBytes + bodyBytes);
      const text = frame.toString("utf8", headerSizeBytes);
      try {
        values.push(JSON.parse(text));
      } catch {
        throw new FrameError(
          `Expected a JSON frame body, got ${JSON.stringify(text.slice(0, 40))}`,
        );
      }
    }
  }

  /** Bytes received but not yet part of a complete frame. */
  get pendingBytes(): number {
    return this.bufferedBytes;
  }

  private peek(byteCount: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length >= byteCount) return first.subarray(0, byteCount);
    this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0]!.subarray(0, byteCount);
  }

  private take(byteCount: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    const frame = all.subarray(0, byteCount);
    const rest = all.subarray(byteCount);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.bufferedBytes = rest.length;
    return frame;
  }
}
