// A seeded pseudo-random number generator for the deterministic simulator (lesson 1: the world
// is concurrent, and a seed is how you see the same concurrency twice). sfc32 (Chris Doty-Humphrey's
// Small Fast Counting generator): 128 bits of state, fast in plain JavaScript, good enough for
// scheduling faults and latencies (not for cryptography). No Node built-ins: runs in the browser.

export class Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number | string) {
    // Seed the four words from a string hash (cyrb128-style mixing), so any seed spreads well.
    const text = String(seed);
    let h1 = 1779033703;
    let h2 = 3144134277;
    let h3 = 1013904242;
    let h4 = 2773480762;
    for (let index = 0; index < text.length; index += 1) {
      const code = text.charCodeAt(index);
      h1 = h2 ^ Math.imul(h1 ^ code, 597399067);
      h2 = h3 ^ Math.imul(h2 ^ code, 2869860233);
      h3 = h4 ^ Math.imul(h3 ^ code, 951274213);
      h4 = h1 ^ Math.imul(h4 ^ code, 2716044179);
    }
    h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
    h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
    h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
    h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
    this.a = (h1 ^ h2 ^ h3 ^ h4) >>> 0;
    this.b = (h2 ^ h1) >>> 0;
    this.c = (h3 ^ h1) >>> 0;
    this.d = (h4 ^ h1) >>> 0;
    for (let warmUp = 0; warmUp < 12; warmUp += 1) this.nextUint32();
  }

  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform integer in [0, bound). */
  integer(bound: number): number {
    return Math.floor(this.next() * bound);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return p > 0 && this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError("Expected a non-empty list to pick from");
    return items[this.integer(items.length)]!;
  }

  /** Exponentially distributed with the given mean. */
  exponential(mean: number): number {
    return -portableLog(1 - this.next()) * mean;
  }

  /** An independent generator derived from this one and a label (one per node, per link...),
   * so adding a consumer of randomness in one place does not shift every other stream. */
  fork(label: string): Random {
    return new Random(`${this.a}:${this.b}:${this.c}:${this.d}:${label}`);
  }
}

/**
 * The natural logarithm from + - * / only. JavaScript does not require Math.log to give the
 * same last bit everywhere (Node 20 and Chromium differ on about one input in ten), and a
 * simulated latency that differs in its last bit could reorder two events: the browser would
 * replay a different run. IEEE-754 basic arithmetic is exactly rounded in every engine, so this
 * is identical everywhere. For x in (0, 1]: halve/double into [1, 2), then
 * ln(m) = 2 atanh((m - 1) / (m + 1)) by its series, which converges fast there.
 */
export function portableLog(x: number): number {
  if (!(x > 0)) return x === 0 ? Number.NEGATIVE_INFINITY : Number.NaN;
  let exponent = 0;
  let mantissa = x;
  while (mantissa >= 2) {
    mantissa /= 2;
    exponent += 1;
  }
  while (mantissa < 1) {
    mantissa *= 2;
    exponent -= 1;
  }
  const t = (mantissa - 1) / (mantissa + 1);
  const t2 = t * t;
  let term = t;
  let sum = 0;
  for (let k = 1; k < 60; k += 2) {
    sum += term / k;
    term *= t2;
  }
  return 2 * sum + exponent * 0.6931471805599453;
}
