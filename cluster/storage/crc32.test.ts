// Tests for the CRC-32 and the record format (lesson 5): the checksum must match zlib's, and a
// record must decode to what was encoded while any single flipped bit is caught.

import zlib from "node:zlib";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { crc32 } from "./crc32.ts";
import {
  checkRecordAt,
  decodeKey,
  decodeValue,
  deletionRecordBytes,
  encodeRecord,
  putRecordBytes,
  utf8ByteLength,
} from "./record.ts";

const encoder = new TextEncoder();

describe("crc32", () => {
  it("gives the standard check value", () => {
    expect(crc32(encoder.encode("123456789"))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
  });

  it("agrees with zlib on any bytes and any range", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(), fc.nat(), (bytes, a, b) => {
        const start = Math.min(a, b) % (bytes.length + 1);
        const end = start + ((Math.max(a, b) - Math.min(a, b)) % (bytes.length - start + 1));
        expect(crc32(bytes, start, end)).toBe(zlib.crc32(bytes.subarray(start, end)));
      }),
    );
  });

  it("refuses a range outside the bytes", () => {
    expect(() => crc32(new Uint8Array(4), 2, 1)).toThrow(RangeError);
    expect(() => crc32(new Uint8Array(4), 0, 5)).toThrow(/at most the byte length 4/);
  });
});

describe("record format", () => {
  const text = fc.string({ unit: "grapheme", maxLength: 40 });

  it("decodes what it encoded, at the size putRecordBytes predicts", () => {
    fc.assert(
      fc.property(
        text.filter((key) => key.length > 0),
        text,
        (key, value) => {
          const record = encodeRecord(key, value);
          expect(record.length).toBe(putRecordBytes(key, value));
          expect(utf8ByteLength(value)).toBe(encoder.encode(value).length);
          const check = checkRecordAt(record, 0);
          if (!check.ok) throw new Error(check.reason);
          expect(check.header.kind).toBe("put");
          expect(decodeKey(record, 0, check.header)).toBe(key);
          expect(decodeValue(record, 0, check.header)).toBe(value);
        },
      ),
    );
  });

  it("encodes a deletion record with no value", () => {
    const record = encodeRecord("gone", undefined);
    expect(record.length).toBe(deletionRecordBytes("gone"));
    const check = checkRecordAt(record, 0);
    expect(check.ok && check.header.kind).toBe("deletion");
  });

  it("catches every single flipped bit", () => {
    const record = encodeRecord("key", "value");
    for (let bit = 0; bit < record.length * 8; bit++) {
      const damaged = record.slice();
      damaged[bit >> 3] = damaged[bit >> 3]! ^ (1 << (bit & 7));
      expect(checkRecordAt(damaged, 0).ok, `bit ${bit}`).toBe(false);
    }
  });

  it("calls a record cut short incomplete, and a bad checksum not", () => {
    const record = encodeRecord("key", "value");
    const cut = checkRecordAt(record, 0, record.length - 1);
    expect(cut).toMatchObject({ ok: false, incomplete: true });
    const damaged = record.slice();
    damaged[damaged.length - 1] = 0;
    expect(checkRecordAt(damaged, 0)).toMatchObject({
      ok: false,
      incomplete: false,
      reason: expect.stringMatching(/^CRC mismatch/),
    });
  });
});
