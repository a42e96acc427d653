// A bounded memo keyed by a pair (lessons 2 and 4: every request finds its key's storage name,
// partition, placement and context tag, and on the hot path each of those is remembered, not
// made again). The pair is looked up in two steps, outer then inner, instead of being joined
// into one new string: a fresh string is hashed on every lookup, which showed in profiles, and
// a remembered one is hashed once.
//
// A memo, not a store: everything in it can be made again, so past `sizeMax` entries it forgets
// them all and starts over, which bounds its memory whatever the keys.
//
// Worked example: `const tags = new PairMemo<string, string>(2)`; `tags.set("b", "k1", "t1")`,
// `tags.set("b", "k2", "t2")`; `tags.get("b", "k1")` is "t1"; a third `set` forgets both first,
// so `tags.get("b", "k1")` is then undefined and the caller makes "t1" again.

export class PairMemo<Outer, Value> {
  private readonly byOuter = new Map<Outer, Map<string, Value>>();
  private size = 0;
  /** The outer key asked for last and its inner map: the outer half of nearly every pair is the
   * same from one call to the next (one bucket, one partition count, one N), so most look-ups
   * skip a step. `lastInners` is undefined until `lastOuter` has an inner map. */
  private lastOuter: Outer | undefined = undefined;
  private lastInners: Map<string, Value> | undefined = undefined;

  constructor(private readonly sizeMax: number) {}

  get(outer: Outer, inner: string): Value | undefined {
    return this.innersOf(outer)?.get(inner);
  }

  set(outer: Outer, inner: string, value: Value): void {
    if (this.size >= this.sizeMax) this.clear();
    let inners = this.innersOf(outer);
    if (inners === undefined) {
      inners = new Map();
      this.byOuter.set(outer, inners);
      this.lastInners = inners;
    }
    inners.set(inner, value);
    this.size += 1;
  }

  clear(): void {
    this.byOuter.clear();
    this.size = 0;
    this.lastOuter = undefined;
    this.lastInners = undefined;
  }

  private innersOf(outer: Outer): Map<string, Value> | undefined {
    if (outer !== this.lastOuter || this.lastInners === undefined) {
      this.lastOuter = outer;
      this.lastInners = this.byOuter.get(outer);
    }
    return this.lastInners;
  }
}
