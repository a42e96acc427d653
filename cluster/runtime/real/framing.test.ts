// Frames survive any split TCP makes of them (lesson 1): fast-check cuts a stream of frames at
// random points and the decoder must give back exactly the values sent, in order.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encodeFrame, FrameDecoder, FrameError, frameSizeMaxBytes } from "./framing.ts";

describe("framing", () => {
  it("decodes any sequence of values however the stream is cut", () => {
    fc.assert(
      fc.property(
        fc.array(fc.jsonValue(), { minLength: 1, maxLength: 20 }),
        fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 30 }),
        (values, cuts) => {
          const stream = Buffer.concat(values.map((value) => encodeFrame(value)));
          const decoder = new FrameDecoder();
          const decoded: unknown[] = [];
          let offset = 0;
          let cutIndex = 0;
          while (offset < stream.length) {
            const size = cuts[cutIndex++ % cuts.length]!;
            decoded.push(...decoder.push(stream.subarray(offset, offset + size)));
            offset += size;
          }
          expect(decoded).toEqual(values.map((value) => JSON.parse(JSON.stringify(value))));
          expect(decoder.pendingBytes).toBe(0);
        },
      ),
    );
  });

  it("waits for the rest of a frame instead of guessing", () => {
    const frame = encodeFrame({ type: "read", id: "1" });
    const decoder = new FrameDecoder();
    expect(decoder.push(frame.subarray(0, 3))).toEqual([]);
    expect(decoder.push(frame.subarray(3, frame.length - 1))).toEqual([]);
    expect(decoder.push(frame.subarray(frame.length - 1))).toEqual([{ type: "read", id: "1" }]);
  });

  it("refuses a length over the limit before buffering the body", () => {
    const header = Buffer.alloc(4);
    header.writeUInt32BE(frameSizeMaxBytes + 1, 0);
    expect(() => new FrameDecoder().push(header)).toThrow(FrameError);
  });

  it("refuses a body that is not JSON", () => {
    const body = Buffer.from("{not json", "utf8");
    const header = Buffer.alloc(4);
    header.writeUInt32BE(body.length, 0);
    expect(() => new FrameDecoder().push(Buffer.concat([header, body]))).toThrow(FrameError);
  });

  it("refuses to encode a frame over the limit", () => {
    expect(() => encodeFrame("x".repeat(frameSizeMaxBytes))).toThrow(FrameError);
  });
});
