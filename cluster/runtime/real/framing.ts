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
  for (let index = 0; index < texts.length; index++) {
    const bodyBytes = Buffer.byteLength(texts[index]!, "utf8");
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
  for (let index = 0; index < texts.length; index++) {
    frames.writeUInt32BE(sizes[index]!, offset);
    offset += headerSizeBytes;
    offset += frames.write(texts[index]!, offset, "utf8");
  }
  return frames;
}

/**
 * Turns a stream of chunks back into JSON values. `push` returns every complete frame the chunk
 * finished, in order, and throws FrameError on a length over the limit or a body that is not
 * JSON: the caller closes that connection (the stream can no longer be trusted to be in sync).
 *
 * Frames are read in place: a frame that lies inside one chunk (nearly all of them: a socket
 * read holds many) is decoded from that chunk by offset, with no Buffer made for its header,
 * its body or the rest. Chunks are joined only when a frame spans them, and only once the
 * frame is complete, so a large frame arriving in many reads is copied once.
 */
export class FrameDecoder {
  /** Received chunks not yet fully decoded; the first is read from `offset` on. */
  private chunks: Buffer[] = [];
  private offset = 0;
  private bufferedBytes = 0;

  push(chunk: Buffer): unknown[] {
    this.chunks.push(chunk);
    this.bufferedBytes += chunk.length;
    const values: unknown[] = [];
    for (;;) {
      if (this.bufferedBytes < headerSizeBytes) return values;
      if (this.chunks[0]!.length - this.offset < headerSizeBytes) this.join();
      const bodyBytes = this.chunks[0]!.readUInt32BE(this.offset);
      if (bodyBytes > frameSizeMaxBytes) {
        throw new FrameError(
          `Expected a frame of at most ${frameSizeMaxBytes} bytes, got a length of ${bodyBytes}`,
        );
      }
      const frameBytes = headerSizeBytes + bodyBytes;
      if (this.bufferedBytes < frameBytes) return values;
      if (this.chunks[0]!.length - this.offset < frameBytes) this.join();
      const first = this.chunks[0]!;
      const bodyStart = this.offset + headerSizeBytes;
      const text = first.toString("utf8", bodyStart, bodyStart + bodyBytes);
      this.offset += frameBytes;
      this.bufferedBytes -= frameBytes;
      if (this.offset === first.length) {
        this.chunks.shift();
        this.offset = 0;
      }
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

  /** Joins the unread bytes into one chunk, for a header or frame that spans chunks. */
  private join(): void {
    this.chunks[0] = this.chunks[0]!.subarray(this.offset);
    this.chunks = [Buffer.concat(this.chunks, this.bufferedBytes)];
    this.offset = 0;
  }
}
