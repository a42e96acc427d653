// CRC-32 (IEEE 802.3, the polynomial zlib, gzip and PNG use) over bytes (lesson 5, "systems that
// never stop": a store that restarts after a crash must tell a whole record from a torn or
// flipped one, and a checksum in every record is how it tells).
//
// Pure and browser-safe: no Node built-ins, so the simulated disk and the course site can use the
// same record format as the real store.

/** The reflected form of the polynomial 0x04C11DB7. */
const polynomialReflected = 0xedb88320;

/**
 * Eight tables for "slicing-by-8" (Intel's method): tables[0] is the classic byte-at-a-time
 * table, and tables[k][b] is the CRC contribution of byte b followed by k zero bytes. Eight
 * lookups then fold eight bytes per step instead of one, several times faster in V8, so the
 * checksum stays cheap next to the fsync and recovery reads a data file at disk speed.
 */
const tables: Uint32Array[] = buildTables();
const table0 = tables[0]!;
const table1 = tables[1]!;
const table2 = tables[2]!;
const table3 = tables[3]!;
const table4 = tables[4]!;
const table5 = tables[5]!;
const table6 = tables[6]!;
const table7 = tables[7]!;

function buildTables(): Uint32Array[] {
  const first = new Uint32Array(256);
  for (let byte = 0; byte < 256; byte++) {
    let remainder = byte;
    for (let bit = 0; bit < 8; bit++) {
      remainder = remainder & 1 ? (remainder >>> 1) ^ polynomialReflected : remainder >>> 1;
    }
    first[byte] = remainder >>> 0;
  }
  const result = [first];
  for (let slice = 1; slice < 8; slice++) {
    const previous = result[slice - 1]!;
    const next = new Uint32Array(256);
    for (let byte = 0; byte < 256; byte++) {
      next[byte] = (first[previous[byte]! & 0xff]! ^ (previous[byte]! >>> 8)) >>> 0;
    }
    result.push(next);
  }
  return result;
}

/**
 * The CRC-32 of `bytes[start..end)`, as an unsigned 32-bit integer.
 * `crc32(new TextEncoder().encode("123456789")) === 0xcbf43926` (the standard check value).
 */
export function crc32(bytes: Uint8Array, start = 0, end = bytes.length): number {
  if (!(Number.isInteger(start) && Number.isInteger(end) && 0 <= start && start <= end)) {
    throw new RangeError(`Expected 0 <= start <= end, got start ${start} and end ${end}`);
  }
  if (end > bytes.length) {
    throw new RangeError(`Expected end to be at most the byte length ${bytes.length}, got ${end}`);
  }
  let crc = 0xffffffff;
  let index = start;
  for (; index + 8 <= end; index += 8) {
    const low =
      crc ^
      (bytes[index]! |
        (bytes[index + 1]! << 8) |
        (bytes[index + 2]! << 16) |
        (bytes[index + 3]! << 24));
    crc =
      table7[low & 0xff]! ^
      table6[(low >>> 8) & 0xff]! ^
      table5[(low >>> 16) & 0xff]! ^
      table4[low >>> 24]! ^
      table3[bytes[index + 4]!]! ^
      table2[bytes[index + 5]!]! ^
      table1[bytes[index + 6]!]! ^
      table0[bytes[index + 7]!]!;
  }
  for (; index < end; index++) {
    crc = table0[(crc ^ bytes[index]!) & 0xff]! ^ (crc >>> 8);
  }
  return (crc ^ 0xffffffff) >>> 0;
}
