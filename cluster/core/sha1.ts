// SHA-1 in plain TypeScript (lesson 4, "the Dynamo ring of vnodes"): the hash that places every
// key on the ring, as in Riak. It is written out here instead of taken from node:crypto because
// the simulator runs in the browser too, and a key must land on the same partition in the
// browser, in the simulator and in the real runtime. sha1.test.ts compares it with node:crypto.
//
// SHA-1 is no longer safe against an attacker who chooses keys to collide; here it only has to
// spread keys evenly, which it still does.

const encoder = new TextEncoder();

/** The 20-byte SHA-1 digest of `bytes` (FIPS 180-4, section 6.1). */
export function sha1(bytes: Uint8Array): Uint8Array {
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError(`Expected \`bytes\` to be a Uint8Array, got ${typeof bytes}`);
  }
  // Padding: the message, one 1 bit, zeros, then the length in bits as a 64-bit big-endian
  // number, so that the total is a multiple of 64 bytes (one block).
  const paddedLength = Math.ceil((bytes.length + 9) / 64) * 64;
  const padded = new Uint8Array(paddedLength);
  padded.set(bytes);
  padded[bytes.length] = 0x80;
  const view = new DataView(padded.buffer);
  const bitLength = bytes.length * 8;
  view.setUint32(paddedLength - 8, Math.floor(bitLength / 2 ** 32));
  view.setUint32(paddedLength - 4, bitLength >>> 0);

  const state = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0];
  const words = new Uint32Array(80);
  for (let block = 0; block < paddedLength; block += 64) {
    compress(state, words, view, block);
  }

  const digest = new Uint8Array(20);
  const digestView = new DataView(digest.buffer);
  state.forEach((word, index) => digestView.setUint32(index * 4, word));
  return digest;
}

/** The SHA-1 of the UTF-8 encoding of `text`, as 40 lowercase hex digits. */
export function sha1Hex(text: string): string {
  if (typeof text !== "string") {
    throw new TypeError(`Expected \`text\` to be a string, got ${typeof text}`);
  }
  const digest = sha1(encoder.encode(text));
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** One 64-byte block: 80 rounds that stir the block into the five state words. */
function compress(state: number[], words: Uint32Array, view: DataView, offset: number): void {
  for (let index = 0; index < 16; index += 1) words[index] = view.getUint32(offset + index * 4);
  for (let index = 16; index < 80; index += 1) {
    words[index] = rotateLeft(
      words[index - 3]! ^ words[index - 8]! ^ words[index - 14]! ^ words[index - 16]!,
      1,
    );
  }
  let [a, b, c, d, e] = state as [number, number, number, number, number];
  for (let round = 0; round < 80; round += 1) {
    let mix: number;
    let constant: number;
    if (round < 20) {
      mix = (b & c) | (~b & d);
      constant = 0x5a827999;
    } else if (round < 40) {
      mix = b ^ c ^ d;
      constant = 0x6ed9eba1;
    } else if (round < 60) {
      mix = (b & c) | (b & d) | (c & d);
      constant = 0x8f1bbcdc;
    } else {
      mix = b ^ c ^ d;
      constant = 0xca62c1d6;
    }
    const next = (rotateLeft(a, 5) + mix + e + constant + words[round]!) >>> 0;
    e = d;
    d = c;
    c = rotateLeft(b, 30);
    b = a;
    a = next;
  }
  state[0] = (state[0]! + a) >>> 0;
  state[1] = (state[1]! + b) >>> 0;
  state[2] = (state[2]! + c) >>> 0;
  state[3] = (state[3]! + d) >>> 0;
  state[4] = (state[4]! + e) >>> 0;
}

function rotateLeft(word: number, bits: number): number {
  return ((word << bits) | (word >>> (32 - bits))) >>> 0;
}
