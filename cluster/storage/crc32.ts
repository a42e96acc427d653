// CRC-32 (IEEE 802.3, the polynomial zlib, gzip and PNG use) over bytes (lesson 5, "systems that
// never stop": a store that restarts after a crash must tell a whole record from a torn or
// flipped one, and a checksum in every record is how it tells).
//
// Pure and browser-safe: no Node built-ins, so the simulated disk and the course site can use the
// same record format as the real store. Table-driven, one byte per step: simple enough to read,
// and fast enough that the fsync, not the checksum, is what a write waits for.

/** The reflected form of the polynomial 0x04C11DB7. */
const polynomialReflected = 0xedb88320;

const table: Uint32Array = buildTable();

function buildTable(): Uint32Array {
  const result = new Uint32Array(256);
  for (let byte = 0; byte < 256; byte++) {
    let remainder = byte;
    for (let bit = 0; bit < 8; bit++) {
      remainder = remainder & 1 ? (remainder >>> 1) ^ polynomialReflected : remainder >>> 1;
    }
    result[byte] = remainder >>> 0;
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
  for (let index = start; index < end; index++) {
    crc = table[(crc ^ bytes[index]!) & 0xff]! ^ (crc >>> 8);
  }
  return (crc ^ 0xffffffff) >>> 0;
}
