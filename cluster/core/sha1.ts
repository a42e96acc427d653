// SHA-1 in plain TypeScript (lesson 4, "the Dynamo ring of vnodes"): the hash that places every
// key on the ring, as in Riak. It is written out here instead of taken from node:crypto because
// the simulator runs in the browser too, and a key must land on the same partition in the
// browser, in the simulator and in the real runtime. sha1.test.ts compares it with node:crypto.
//
// SHA-1 is no longer safe against an attacker who chooses keys to collide; here it only has to
// spread keys evenly, which it still does.
//
// Speed matters here: every request and every anti-entropy digest hashes a short string, so the
// simulator spends a real share of its time in this file. Three choices keep it fast without
// making it harder to read:
//   - one scratch buffer and one message schedule, reused by every call (no allocation per hash
//     beyond the result), with the text encoded straight into the buffer (encodeInto);
//   - the 80 rounds as four loops of 20, one per round function, so no branch picks the function;
//   - all arithmetic in 32-bit integers (`| 0`), which the JIT keeps in registers.

const encoder = new TextEncoder();

/** The 80-word message schedule of one block, reused by every call. */
const schedule = new Int32Array(80);
/** The padded message, reused while messages fit: most are keys and versions of a few dozen
 * bytes. It grows up to `scratchBytesMax`; a longer message gets a buffer of its own. */
let scratch = new Uint8Array(1024);
const scratchBytesMax = 64 * 1024;

/** The 20-byte SHA-1 digest of `bytes` (FIPS 180-4, section 6.1). */
export function sha1(bytes: Uint8Array): Uint8Array {
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError(`Expected \`bytes\` to be a Uint8Array, got ${typeof bytes}`);
  }
  const buffer = bufferFor(bytes.length);
  buffer.set(bytes);
  const state = digestPadded(buffer, bytes.length);
  const digest = new Uint8Array(20);
  for (let index = 0; index < 5; index += 1) {
    const word = state[index]!;
    digest[index * 4] = word >>> 24;
    digest[index * 4 + 1] = word >>> 16;
    digest[index * 4 + 2] = word >>> 8;
    digest[index * 4 + 3] = word;
  }
  return digest;
}

/** The SHA-1 of the UTF-8 encoding of `text`, as 40 lowercase hex digits. */
export function sha1Hex(text: string): string {
  const state = sha1Words(text);
  let hex = "";
  for (let index = 0; index < 5; index += 1) {
    hex += (state[index]! >>> 0).toString(16).padStart(8, "0");
  }
  return hex;
}

/**
 * The SHA-1 of the UTF-8 encoding of `text` as its five 32-bit words (big-endian order, so word
 * 0 holds the first 8 hex digits). For callers that need a number, not text: the ring takes the
 * top bits of word 0, anti-entropy the first two words; neither goes through hex and back.
 * The words are signed 32-bit integers: use `>>> 0` for the unsigned value.
 */
export function sha1Words(text: string): Int32Array {
  if (typeof text !== "string") {
    throw new TypeError(`Expected \`text\` to be a string, got ${typeof text}`);
  }
  // UTF-8 takes at most 3 bytes per UTF-16 code unit (a surrogate pair: 4 bytes for 2 units).
  const buffer = bufferFor(text.length * 3);
  const { read, written } = encoder.encodeInto(text, buffer);
  if (read !== text.length) throw new Error("SHA-1 buffer too small for the text (unreachable)");
  return digestPadded(buffer, written);
}

/** A buffer for a message of up to `length` bytes plus its padding: the scratch one if it fits. */
function bufferFor(length: number): Uint8Array {
  const needed = paddedLengthOf(length);
  if (needed <= scratch.length) return scratch;
  if (needed > scratchBytesMax) return new Uint8Array(needed);
  scratch = new Uint8Array(scratchBytesMax);
  return scratch;
}

/** Padding: the message, one 1 bit, zeros, then the length in bits as a 64-bit big-endian
 * number, so that the total is a multiple of 64 bytes (one block). */
function paddedLengthOf(length: number): number {
  return Math.ceil((length + 9) / 64) * 64;
}

/** Pads the `length`-byte message at the front of `bytes` and hashes it. */
function digestPadded(bytes: Uint8Array, length: number): Int32Array {
  const paddedLength = paddedLengthOf(length);
  bytes.fill(0, length, paddedLength);
  bytes[length] = 0x80;
  const bitLength = length * 8;
  writeWord(bytes, paddedLength - 8, Math.floor(bitLength / 2 ** 32));
  writeWord(bytes, paddedLength - 4, bitLength);
  const state = new Int32Array([0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0]);
  for (let block = 0; block < paddedLength; block += 64) compress(state, bytes, block);
  return state;
}

function writeWord(bytes: Uint8Array, offset: number, word: number): void {
  bytes[offset] = word >>> 24;
  bytes[offset + 1] = word >>> 16;
  bytes[offset + 2] = word >>> 8;
  bytes[offset + 3] = word;
}

/** One 64-byte block: 80 rounds that stir the block into the five state words. */
function compress(state: Int32Array, bytes: Uint8Array, offset: number): void {
  const words = schedule;
  for (let index = 0; index < 16; index += 1) {
    const at = offset + index * 4;
    words[index] =
      (bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!;
  }
  for (let index = 16; index < 80; index += 1) {
    const mixed = words[index - 3]! ^ words[index - 8]! ^ words[index - 14]! ^ words[index - 16]!;
    words[index] = (mixed << 1) | (mixed >>> 31);
  }
  let a = state[0]!;
  let b = state[1]!;
  let c = state[2]!;
  let d = state[3]!;
  let e = state[4]!;
  // Each round: next = rotl(a, 5) + f(b, c, d) + e + K + w[round]; then shift the words along.
  for (let round = 0; round < 20; round += 1) {
    const choose = (b & c) | (~b & d);
    const next = (((a << 5) | (a >>> 27)) + choose + e + 0x5a827999 + words[round]!) | 0;
    e = d;
    d = c;
    c = (b << 30) | (b >>> 2);
    b = a;
    a = next;
  }
  for (let round = 20; round < 40; round += 1) {
    const parity = b ^ c ^ d;
    const next = (((a << 5) | (a >>> 27)) + parity + e + 0x6ed9eba1 + words[round]!) | 0;
    e = d;
    d = c;
    c = (b << 30) | (b >>> 2);
    b = a;
    a = next;
  }
  for (let round = 40; round < 60; round += 1) {
    const majority = (b & c) | (b & d) | (c & d);
    const next = (((a << 5) | (a >>> 27)) + majority + e + 0x8f1bbcdc + words[round]!) | 0;
    e = d;
    d = c;
    c = (b << 30) | (b >>> 2);
    b = a;
    a = next;
  }
  for (let round = 60; round < 80; round += 1) {
    const parity = b ^ c ^ d;
    const next = (((a << 5) | (a >>> 27)) + parity + e + 0xca62c1d6 + words[round]!) | 0;
    e = d;
    d = c;
    c = (b << 30) | (b >>> 2);
    b = a;
    a = next;
  }
  state[0] = (state[0]! + a) | 0;
  state[1] = (state[1]! + b) | 0;
  state[2] = (state[2]! + c) | 0;
  state[3] = (state[3]! + d) | 0;
  state[4] = (state[4]! + e) | 0;
}
