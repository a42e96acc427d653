// Bitcask hint files (lesson 5, "systems that never stop": a node that restarts should be back
// in seconds, not after re-reading every value it ever stored). Basho's Bitcask writes, next to
// each data file it will never append to again, a hint file listing every key in it and where
// its record lies; recovery builds the key directory from the hints instead of decoding every
// record.
//
// A hint file `NNNNNN.hint` describes a prefix of data file `NNNNNN.data`:
//
//   entries, each: offset u32 | recordBytes u32 | flags u8 | keyBytes u16 | key (UTF-8)
//   trailer, 16 bytes: dataBytes u32 | dataCrc u32 | entryCount u32 | hintCrc u32
//
// big-endian; `dataBytes` is the prefix the entries cover, `dataCrc` the CRC-32 of that prefix,
// `hintCrc` the CRC-32 of everything before it. Worked example: a data file holding put("a",
// "xy") (16 bytes) has the hint 00000000 00000010 00 0001 61, then 00000010, crc(data), 00000001,
// crc(hint).
//
// Why the data CRC: a hint is trusted only for the very bytes it was made from. Recovery still
// reads each data file, but checks it with one native CRC over the whole prefix (gigabytes per
// second) instead of parsing and checking every record; a flipped byte in an old file therefore
// still makes open refuse (bitcask.test.ts), and a hint that does not match (a torn hint, a file
// changed behind the store's back) is ignored: the data file is replayed record by record.

import type { Checksum, RecordKind } from "./record.ts";
import { flagDeletion, flagPut, recordHeaderBytes } from "./record.ts";

const entryHeaderBytes = 11;
const trailerBytes = 16;
/** Offsets and lengths are u32: data files stay below 1 GiB (bitcask.ts fileBytesMaximum). */
const u32Max = 0xffff_ffff;

/** Collects the hint entries of one data file as records are appended or replayed. */
export class HintBuilder {
  private bytes = new Uint8Array(4096);
  private length = 0;
  private count = 0;

  /** Adds the entry for `record` (an encoded, checked record) written at `offset`. */
  addRecord(record: Uint8Array, recordStart: number, offset: number, recordBytes: number): void {
    const view = new DataView(record.buffer, record.byteOffset + recordStart, recordHeaderBytes);
    const flags = view.getUint8(4);
    const keyBytes = view.getUint32(5);
    assert(offset + recordBytes <= u32Max, "a record lies within the first 4 GiB of its file");
    this.reserve(entryHeaderBytes + keyBytes);
    const entry = new DataView(this.bytes.buffer, this.length, entryHeaderBytes);
    entry.setUint32(0, offset);
    entry.setUint32(4, recordBytes);
    entry.setUint8(8, flags);
    entry.setUint16(9, keyBytes);
    const keyStart = recordStart + recordHeaderBytes;
    this.bytes.set(record.subarray(keyStart, keyStart + keyBytes), this.length + entryHeaderBytes);
    this.length += entryHeaderBytes + keyBytes;
    this.count += 1;
  }

  /** Continues from a hint file's entries (the newest file, reopened after a clean close). */
  addEntries(entries: Uint8Array, entryCount: number): void {
    this.reserve(entries.length);
    this.bytes.set(entries, this.length);
    this.length += entries.length;
    this.count += entryCount;
  }

  /** The hint file for a data file whose first `dataBytes` bytes have CRC-32 `dataCrc`. */
  encode(dataBytes: number, dataCrc: number, checksum: Checksum): Uint8Array {
    const file = new Uint8Array(this.length + trailerBytes);
    file.set(this.bytes.subarray(0, this.length));
    const trailer = new DataView(file.buffer, this.length, trailerBytes);
    trailer.setUint32(0, dataBytes);
    trailer.setUint32(4, dataCrc >>> 0);
    trailer.setUint32(8, this.count);
    trailer.setUint32(12, checksum(file, 0, this.length + 12));
    return file;
  }

  private reserve(extraBytes: number): void {
    if (this.length + extraBytes <= this.bytes.length) return;
    let capacity = this.bytes.length * 2;
    while (capacity < this.length + extraBytes) capacity *= 2;
    const grown = new Uint8Array(capacity);
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
  }
}

export interface HintFile {
  /** The data prefix the entries cover, and its CRC-32. */
  dataBytes: number;
  dataCrc: number;
  /** The entries, encoded: a builder that continues this file starts from them. */
  entries: Uint8Array;
  entryCount: number;
  /** Calls `apply` for each entry in file order (later entries win, as in the data file). */
  forEach(
    apply: (key: string, offset: number, recordBytes: number, kind: RecordKind) => void,
  ): void;
}

/** Reads a hint file, or undefined when it is torn or damaged (then the data file is replayed). */
export function decodeHint(bytes: Buffer, checksum: Checksum): HintFile | undefined {
  if (bytes.length < trailerBytes) return undefined;
  const entriesEnd = bytes.length - trailerBytes;
  const trailer = new DataView(bytes.buffer, bytes.byteOffset + entriesEnd, trailerBytes);
  if (trailer.getUint32(12) !== checksum(bytes, 0, entriesEnd + 12)) return undefined;
  const entryCount = trailer.getUint32(8);
  // The CRC matched, so the entries are as written; still, never trust a length blindly.
  const view = new DataView(bytes.buffer, bytes.byteOffset, entriesEnd);
  let checkedCount = 0;
  for (let at = 0; at < entriesEnd; checkedCount += 1) {
    if (at + entryHeaderBytes > entriesEnd) return undefined;
    const flags = view.getUint8(at + 8);
    if (flags !== flagPut && flags !== flagDeletion) return undefined;
    at += entryHeaderBytes + view.getUint16(at + 9);
    if (at > entriesEnd) return undefined;
  }
  if (checkedCount !== entryCount) return undefined;
  return {
    dataBytes: trailer.getUint32(0),
    dataCrc: trailer.getUint32(4),
    entries: bytes.subarray(0, entriesEnd),
    entryCount,
    forEach(apply) {
      for (let at = 0; at < entriesEnd;) {
        const keyBytes = view.getUint16(at + 9);
        const keyStart = at + entryHeaderBytes;
        const key = bytes.toString("utf8", keyStart, keyStart + keyBytes);
        const kind: RecordKind = view.getUint8(at + 8) === flagDeletion ? "deletion" : "put";
        apply(key, view.getUint32(at), view.getUint32(at + 4), kind);
        at += entryHeaderBytes + keyBytes;
      }
    },
  };
}

function assert(condition: boolean, invariant: string): asserts condition {
  if (!condition) throw new Error(`Invariant broken: ${invariant}`);
}
