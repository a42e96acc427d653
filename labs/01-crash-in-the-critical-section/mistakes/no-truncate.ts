// Lab 01 mistake: finds the whole records but reports the whole file as valid, so the writer
// appends after the torn tail. The next scan stops at the torn bytes and every record written
// after recovery is lost.

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
    if (crc32(body) !== view.getUint32(4)) break; // damaged: nothing after it can be trusted
    records.push(decoder.decode(body));
    offset = end;
  }
  return { records, validBytes: bytes.length };
}
