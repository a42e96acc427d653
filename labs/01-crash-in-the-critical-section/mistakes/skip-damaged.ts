// Lab 01 mistake: skips a damaged record and reads on. The records after the hole look fine,
// but the log is a sequence: returning them replays changes whose predecessor is lost, a state
// that never existed.

import { crc32 } from "../../../cluster/storage/crc32.ts";

export const headerBytes = 8;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeRecord(payload: string): Uint8Array {
  const body = encoder.encode(payload);
  const record = new Uint8Array(headerBytes + body.length);
  const view = new DataView(record.buffer);
  view.setUint32(0, body.length);
  view.setUint32(4, crc32(body));
  record.set(body, headerBytes);
  return record;
}

export function scanLog(bytes: Uint8Array): { records: string[]; validBytes: number } {
  const records: string[] = [];
  let offset = 0;
  while (bytes.length - offset >= headerBytes) {
    const view = new DataView(bytes.buffer, bytes.byteOffset + offset, headerBytes);
    const length = view.getUint32(0);
    const end = offset + headerBytes + length;
    if (end > bytes.length) break; // torn: the record runs past what reached the disk
    const body = bytes.subarray(offset + headerBytes, end);
    if (crc32(body) === view.getUint32(4)) records.push(decoder.decode(body));
    offset = end;
  }
  return { records, validBytes: offset };
}
