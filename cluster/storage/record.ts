// The record format of the log-structured store, its limits and input checks (lesson 5, "systems
// that never stop": after a crash the store must tell a whole record from a torn or flipped one).
//
// Browser-safe (Uint8Array, DataView, TextEncoder): the real store (bitcask.ts) writes these
// bytes to files, and the simulated disk (simulated-disk.ts) uses the same sizes and the same
// input checks so that both implementations answer the shared behaviour suite identically.
//
// One record, big-endian, 13 bytes of header then the payload:
//
//   offset  bytes  field
//   0       4      crc32 of bytes 4..end (flags, both lengths, key, value)
//   4       1      flags: 0 = a live value (put), 1 = a deletion record (tombstone)
//   5       4      keyLength in bytes, 1..keyBytesMax
//   9       4      valueLength in bytes, 0..valueBytesMax (always 0 for a deletion)
//   13      k      key, UTF-8
//   13+k    v      value, UTF-8
//
// Worked example: put("a", "xy") is 16 bytes: crc, 00, 00000001, 00000002, 61, 78 79.
// The CRC covers the lengths too, so a flipped bit in a length is caught like one in the value.

import { crc32 } from "./crc32.ts";
import type { SyncPolicy } from "./store.ts";

export const recordHeaderBytes = 13;
/** Keys are names, not documents: a bound keeps the key directory's memory predictable. */
export const keyBytesMax = 4096;
/** One value must fit in one read buffer and well inside one data file. */
export const valueBytesMax = 16 * 1024 * 1024;

/** The longest `interval` sync policy: past an hour, `never` is the honest name. */
export const syncIntervalMsMax = 60 * 60 * 1000;

export const flagPut = 0;
export const flagDeletion = 1;

export type RecordKind = "put" | "deletion";

/** A record's header, read and checked (lengths in range, CRC matching). */
export interface RecordHeader {
  kind: RecordKind;
  keyBytes: number;
  valueBytes: number;
  /** Header plus key plus value. */
  recordBytes: number;
}

/** A CRC-32 of `bytes[start..end)`: crc32.ts, or a native one with the same numbers. */
export type Checksum = (bytes: Uint8Array, start: number, end: number) => number;

export type RecordCheck =
  | { ok: true; header: RecordHeader }
  /** `incomplete`: the bytes end before the record does (what a torn write looks like). */
  | { ok: false; incomplete: boolean; reason: string };

const encoder = new TextEncoder();
const decoder = new TextDecoder();

// eslint-disable-next-line no-control-regex -- the ASCII range starts at NUL
const nonAscii = /[^\u0000-\u007f]/;

/** Long texts utf8ByteLength counted lately and their counts: a small ring, searched by ===
 * (the same string is found by its address; another of the same length differs early). */
const countedTextCountMax = 8;
const countedTexts: string[] = new Array<string>(countedTextCountMax).fill("");
const countedByteCounts: number[] = new Array<number>(countedTextCountMax).fill(0);
let nextCounted = 0;
/** Texts shorter than this are counted every time (keys, mostly: cheaper than remembering). */
const rememberedTextLengthMin = 256;

/** Bytes of UTF-8 that `text` encodes to (counted, not encoded). `text` must be well-formed. */
export function utf8ByteLength(text: string): number {
  // In the simulator three replicas store the very same long text (a version with a dozen
  // siblings), a few other writes apart: counting it once, not three times, was 3% of the
  // simulator. Not a Map: hashing a long string costs more than scanning it.
  if (text.length < rememberedTextLengthMin) return countBytes(text);
  for (let index = 0; index < countedTextCountMax; index += 1) {
    if (countedTexts[index] === text) return countedByteCounts[index]!;
  }
  const bytes = countBytes(text);
  countedTexts[nextCounted] = text;
  countedByteCounts[nextCounted] = bytes;
  nextCounted = (nextCounted + 1) % countedTextCountMax;
  return bytes;
}

/** Scratch room for counting a long text by encoding it (see countBytes): UTF-8 takes at most
 * 3 bytes per UTF-16 unit, so texts up to a third of this length fit; longer ones are scanned. */
const countingScratchBytes = 3 * 65_536;
let countingScratch: Uint8Array | undefined;

function countBytes(text: string): number {
  // A long text is counted by the native encoder into scratch room: it encodes a 1.4 KB version
  // (a dozen siblings) ~9x faster than the regular expression below scans it (V8 encodes with
  // SIMD), and the bytes it writes are exactly the UTF-8 length of a well-formed text.
  if (text.length >= rememberedTextLengthMin && text.length * 3 <= countingScratchBytes) {
    countingScratch ??= new Uint8Array(countingScratchBytes);
    return encoder.encodeInto(text, countingScratch).written;
  }
  // Most keys and values are ASCII: one native scan instead of a loop over every unit.
  if (!nonAscii.test(text)) return text.length;
  let bytes = 0;
  for (let index = 0; index < text.length; index++) {
    const unit = text.charCodeAt(index);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff) {
      bytes += 4; // a surrogate pair: one code point above U+FFFF
      index++;
    } else bytes += 3;
  }
  return bytes;
}

/** What a put of `key` and `value` occupies on disk; the unit of StoreStats' byte counts. */
export function putRecordBytes(key: string, value: string): number {
  return recordHeaderBytes + utf8ByteLength(key) + utf8ByteLength(value);
}

/** What a deletion record for `key` occupies on disk. */
export function deletionRecordBytes(key: string): number {
  return recordHeaderBytes + utf8ByteLength(key);
}

const loneSurrogate = /\p{Cs}/u;

/** String.prototype.isWellFormed (ES2024; Node 20, current browsers), else the regular
 * expression: the same answer, found natively without a regex scan. */
const isWellFormed: (text: string) => boolean =
  typeof (String.prototype as { isWellFormed?: unknown }).isWellFormed === "function"
    ? (text) => (text as unknown as { isWellFormed(): boolean }).isWellFormed()
    : (text) => !loneSurrogate.test(text);

/** Throws a one-line error unless `key` is a storable key. */
export function checkKey(key: unknown): asserts key is string {
  checkText("key", key, keyBytesMax);
  if (key === "") throw new RangeError("Expected `key` to be a non-empty string, got ''");
}

/** Throws a one-line error unless `value` is a storable value. */
export function checkValue(value: unknown): asserts value is string {
  checkText("value", value, valueBytesMax);
}

function checkText(name: string, text: unknown, bytesMax: number): asserts text is string {
  if (typeof text !== "string") {
    throw new TypeError(`Expected \`${name}\` to be a string, got ${typeof text}`);
  }
  // A lone surrogate has no UTF-8 form: it would be stored as U+FFFD and read back changed.
  if (!isWellFormed(text)) {
    throw new RangeError(`Expected \`${name}\` to be well-formed Unicode, got a lone surrogate`);
  }
  // UTF-8 takes at most 3 bytes per UTF-16 unit: count only when the limit could be reached.
  if (text.length * 3 <= bytesMax) return;
  const bytes = utf8ByteLength(text);
  if (bytes > bytesMax) {
    throw new RangeError(
      `Expected \`${name}\` to be at most ${bytesMax} bytes of UTF-8, got ${bytes}`,
    );
  }
}

/** Throws a one-line error unless `policy` is a valid sync policy. */
export function checkSyncPolicy(policy: SyncPolicy): void {
  if (policy.kind === "interval") {
    const { intervalMs } = policy;
    if (!Number.isInteger(intervalMs) || intervalMs < 1 || intervalMs > syncIntervalMsMax) {
      throw new RangeError(
        `Expected \`intervalMs\` to be an integer from 1 to ${syncIntervalMsMax}, got ${intervalMs}`,
      );
    }
  } else if (policy.kind !== "always" && policy.kind !== "never") {
    throw new RangeError(
      `Expected a sync policy of always, interval or never, got ${String((policy as { kind: unknown }).kind)}`,
    );
  }
}

/** Encodes a put (value given) or a deletion (value undefined). Inputs must pass the checks. */
export function encodeRecord(
  key: string,
  value: string | undefined,
  checksum: Checksum = crc32,
): Uint8Array {
  // Sizes first, then key and value encoded straight into the record: one allocation and one
  // copy of each, where encoding them apart made two more arrays per write.
  const keyBytes = utf8ByteLength(key);
  const valueBytes = value === undefined ? 0 : utf8ByteLength(value);
  if (keyBytes < 1 || keyBytes > keyBytesMax) {
    throw new RangeError(`Expected key of 1..${keyBytesMax} bytes, got ${keyBytes}`);
  }
  if (valueBytes > valueBytesMax) {
    throw new RangeError(`Expected value of at most ${valueBytesMax} bytes, got ${valueBytes}`);
  }
  const record = new Uint8Array(recordHeaderBytes + keyBytes + valueBytes);
  const view = new DataView(record.buffer, record.byteOffset, record.byteLength);
  view.setUint8(4, value === undefined ? flagDeletion : flagPut);
  view.setUint32(5, keyBytes);
  view.setUint32(9, valueBytes);
  const keyWritten = encoder.encodeInto(key, record.subarray(recordHeaderBytes)).written;
  const valueWritten =
    value === undefined
      ? 0
      : encoder.encodeInto(value, record.subarray(recordHeaderBytes + keyBytes)).written;
  // A string with a lone surrogate would encode to another length than counted: the checks
  // every input passes refuse those, so this never fires.
  if (keyWritten !== keyBytes || valueWritten !== valueBytes) {
    throw new RangeError("Expected well-formed UTF-16 key and value");
  }
  view.setUint32(0, checksum(record, 4, record.length));
  return record;
}

/**
 * Checks the record that starts at `offset` in `bytes[..end)`: header complete, flags known,
 * lengths in range, the whole record present, the CRC matching. Never throws on bad bytes.
 */
export function checkRecordAt(
  bytes: Uint8Array,
  offset: number,
  end = bytes.length,
  checksum: Checksum = crc32,
): RecordCheck {
  if (end - offset < recordHeaderBytes) {
    return { ok: false, incomplete: true, reason: `incomplete header (${end - offset} bytes)` };
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, recordHeaderBytes);
  const expectedCrc = view.getUint32(0);
  const flags = view.getUint8(4);
  const keyBytes = view.getUint32(5);
  const valueBytes = view.getUint32(9);
  if (flags !== flagPut && flags !== flagDeletion) {
    return { ok: false, incomplete: false, reason: `unknown flags 0x${hex(flags, 2)}` };
  }
  if (keyBytes < 1 || keyBytes > keyBytesMax) {
    return {
      ok: false,
      incomplete: false,
      reason: `key length ${keyBytes} out of range 1..${keyBytesMax}`,
    };
  }
  const valueBytesLimit = flags === flagDeletion ? 0 : valueBytesMax;
  if (valueBytes > valueBytesLimit) {
    const reason = `value length ${valueBytes} out of range 0..${valueBytesLimit}`;
    return { ok: false, incomplete: false, reason };
  }
  const recordBytes = recordHeaderBytes + keyBytes + valueBytes;
  if (offset + recordBytes > end) {
    const reason = `record of ${recordBytes} bytes runs past the end (${end - offset} bytes left)`;
    return { ok: false, incomplete: true, reason };
  }
  const actualCrc = checksum(bytes, offset + 4, offset + recordBytes);
  if (actualCrc !== expectedCrc) {
    const reason = `CRC mismatch (expected 0x${hex(expectedCrc, 8)}, got 0x${hex(actualCrc, 8)})`;
    return { ok: false, incomplete: false, reason };
  }
  const kind: RecordKind = flags === flagDeletion ? "deletion" : "put";
  return { ok: true, header: { kind, keyBytes, valueBytes, recordBytes } };
}

/** The key of a record already checked with checkRecordAt. */
export function decodeKey(bytes: Uint8Array, offset: number, header: RecordHeader): string {
  const start = offset + recordHeaderBytes;
  return decoder.decode(bytes.subarray(start, start + header.keyBytes));
}

/** The value of a checked put record. */
export function decodeValue(bytes: Uint8Array, offset: number, header: RecordHeader): string {
  const start = offset + recordHeaderBytes + header.keyBytes;
  return decoder.decode(bytes.subarray(start, start + header.valueBytes));
}

function hex(value: number, digits: number): string {
  return value.toString(16).padStart(digits, "0");
}
