// Versions of a key: dotted version vectors (lesson 6, "sharing data", and the Dynamo paper's
// section 4.4). Pure functions; no I/O.
//
// Why dotted version vectors, and why the actor is the coordinating *replica*:
// A plain vector clock with one entry per client grows without bound; one entry per node that
// merely forwarded a request produces false concurrency or, worse, lost updates (Riak's
// "sibling explosion" and the DVV paper, Preguiça et al. 2012). Here every write gets a *dot*
// (actor, counter) minted by a replica that holds the key (as riak_kv's vnode coordinator
// does), so the counter is one more than every earlier event of that actor on that key. An
// object's `clock` therefore says "I have seen every event of actor A up to clock[A]", and a
// sibling whose dot is at or below a clock entry is known to be seen (and so superseded or
// kept) by whoever holds that clock.
//
// Worked example (the Dynamo paper's figure 3, D1..D5; tested in versions.test.ts):
//   Sx writes D1            siblings {(Sx,1)}            clock {Sx:1}
//   Sx writes D2 over D1    siblings {(Sx,2)}            clock {Sx:2}
//   Sy writes D3 over D2    siblings {(Sy,1)}            clock {Sx:2, Sy:1}
//   Sz writes D4 over D2    siblings {(Sz,1)}            clock {Sx:2, Sz:1}
//   a read merges D3, D4:   siblings {(Sy,1), (Sz,1)}    clock {Sx:2, Sy:1, Sz:1}   (two siblings)
//   Sx writes D5 with that context: siblings {(Sx,3)}    clock {Sx:3, Sy:1, Sz:1}   (one again)
//
// The actor is `node@incarnation`: a node that restarts after losing unsynced writes must not
// mint a dot it already minted, so each start draws a fresh incarnation.
//
// Last-write-wins buckets keep one sibling and pick the highest (timestamp, actor): simple, and
// under clock skew it silently drops writes, which is what the lesson on clocks shows.

import type { ObjectCodec } from "../storage/store.ts";
import { crdtMerge, type CrdtState } from "./crdt.ts";
import { freezeJson } from "./immutable.ts";
import { PairMemo } from "./memo.ts";
import { sha1Hex, sha1Words } from "./sha1.ts";
import type { BucketMode, JsonValue } from "./types.ts";

export type VersionVector = Record<string, number>;

export interface Sibling {
  /** [actor, counter]: who minted this version, and its place in that actor's sequence. */
  dot: [string, number];
  value: JsonValue;
  /** A deletion: kept as a version so it can supersede older values on every replica. */
  tombstone: boolean;
  /** The coordinator's clock when written (lww order; informative in causal mode). */
  timestamp: number;
}

export interface VersionedObject {
  /** "crdt": the one sibling's value is a CrdtState (crdt.ts), merged by its own join. */
  mode: BucketMode | "crdt";
  clock: VersionVector;
  siblings: Sibling[];
}

/** Is `dot` among the events `clock` has seen? */
export function covers(clock: VersionVector, dot: [string, number]): boolean {
  return (clock[dot[0]] ?? 0) >= dot[1];
}

/**
 * The least clock that has seen both. When one side has already seen everything the other has
 * (replication, read replies and repair merge equal or newer clocks all day) that side is the
 * join, and it is returned itself, not copied, if its actors are in order: no allocation, and a
 * frozen clock keeps its cached encodings (encodeContext).
 */
export function joinClocks(a: VersionVector, b: VersionVector): VersionVector {
  if (descends(a, b) && isSortedClock(a)) return a;
  if (descends(b, a) && isSortedClock(b)) return b;
  const joined: VersionVector = { ...a };
  for (const [actor, counter] of Object.entries(b)) {
    joined[actor] = Math.max(joined[actor] ?? 0, counter);
  }
  return sortClock(joined);
}

/** a <= b: every event in a is in b. */
export function descends(b: VersionVector, a: VersionVector): boolean {
  for (const actor in a) {
    if (!Object.hasOwn(a, actor)) continue;
    if ((b[actor] ?? 0) < a[actor]!) return false;
  }
  return true;
}

function isSortedClock(clock: VersionVector): boolean {
  let previous: string | undefined;
  for (const actor in clock) {
    if (previous !== undefined && !(previous < actor)) return false;
    previous = actor;
  }
  return true;
}

/**
 * joinClocks(clock, {[actor]: counter}), for a new dot: the actor put in its place while
 * copying, not a copy sorted afterwards. Every write mints one, and the sort (with its array of
 * actors) was most of what a write allocated.
 */
function withEvent(clock: VersionVector, actor: string, counter: number): VersionVector {
  // A context may already name a higher counter for the actor (a client may send any clock it
  // was given for this key): the general join keeps the higher one, as it always did.
  if ((clock[actor] ?? 0) >= counter || !isSortedClock(clock)) {
    return joinClocks(clock, { [actor]: counter });
  }
  const joined: VersionVector = {};
  let placed = false;
  for (const known in clock) {
    if (!placed && !(known < actor)) {
      joined[actor] = counter;
      placed = true;
      if (known === actor) continue;
    }
    joined[known] = clock[known]!;
  }
  if (!placed) joined[actor] = counter;
  // Actors go in in sorted order, as sortClock puts them in: the same object, key order too
  // (an actor that reads as an array index, "7", is listed first by both; see the tests).
  return joined;
}

function sortClock(clock: VersionVector): VersionVector {
  const sorted: VersionVector = {};
  for (const actor of Object.keys(clock).sort()) sorted[actor] = clock[actor]!;
  return sorted;
}

function sameDot(a: [string, number], b: [string, number]): boolean {
  return a[0] === b[0] && a[1] === b[1];
}

/** Siblings are kept in this order: by actor, then by counter. */
function compareDots(a: [string, number], b: [string, number]): number {
  return a[0] === b[0] ? a[1] - b[1] : a[0] < b[0] ? -1 : 1;
}

function sortSiblings(siblings: Sibling[]): Sibling[] {
  return [...siblings].sort((a, b) => compareDots(a.dot, b.dot));
}

function isSorted(siblings: Sibling[]): boolean {
  if (siblings.length < 2) return true; // most keys hold one sibling: no lookup for those
  if (sortedSiblingLists.has(siblings)) return true;
  for (let index = 1; index < siblings.length; index += 1) {
    if (compareDots(siblings[index - 1]!.dot, siblings[index]!.dot) > 0) return false;
  }
  if (Object.isFrozen(siblings)) sortedSiblingLists.add(siblings);
  return true;
}

/** Frozen sibling lists found in order: every merge checks both of its inputs, and a stored
 * version is merged again and again (replication, reads, repair, anti-entropy). */
const sortedSiblingLists = new WeakSet<Sibling[]>();

/**
 * The siblings a causal write keeps, in dot order: those `context` has not seen, and the new
 * one. Siblings are kept sorted, so the new one is put in its place on the way rather than
 * sorting the lot afterwards (under blind writes a key holds a dozen siblings or more).
 */
function survivorsWith(siblings: Sibling[], context: VersionVector, written: Sibling): Sibling[] {
  if (!isSorted(siblings)) {
    return sortSiblings([...siblings.filter((sibling) => !covers(context, sibling.dot)), written]);
  }
  const survivors: Sibling[] = [];
  // A blind write (an empty context) supersedes nothing: no need to ask, sibling by sibling,
  // whether the context covers it (a lookup of an absent actor, slow on V8's varied clocks).
  const blind = isEmptyClock(context);
  let placed = false;
  // Index loops, not for-of, here and below: versions are frozen, and for-of over a frozen
  // array allocated an iterator result per sibling (the allocation profile showed it).
  for (let index = 0; index < siblings.length; index += 1) {
    const sibling = siblings[index]!;
    if (!blind && covers(context, sibling.dot)) continue;
    if (!placed && compareDots(written.dot, sibling.dot) < 0) {
      survivors.push(written);
      placed = true;
    }
    survivors.push(sibling);
  }
  if (!placed) survivors.push(written);
  return survivors;
}

function isEmptyClock(clock: VersionVector): boolean {
  for (const actor in clock) if (Object.hasOwn(clock, actor)) return false;
  return true;
}

function lwwWinner(siblings: Sibling[]): Sibling | undefined {
  let winner: Sibling | undefined;
  for (const sibling of siblings) {
    if (
      winner === undefined ||
      sibling.timestamp > winner.timestamp ||
      (sibling.timestamp === winner.timestamp && sibling.dot[0] > winner.dot[0])
    ) {
      winner = sibling;
    }
  }
  return winner;
}

export interface UpdateInput {
  mode: BucketMode;
  value: JsonValue;
  tombstone: boolean;
  /** What the client saw (its causal context); {} for a blind write. */
  context: VersionVector;
  /** The coordinating replica's actor id (node@incarnation). */
  actor: string;
  timestamp: number;
  /**
   * The lowest counter the new dot may take minus one: every counter this actor has minted on
   * any key so far. It matters only when the replica holds no copy: a key whose tombstone was
   * reaped here starts again from nothing, and counting from 1 would mint a dot this actor
   * already used for the deleted version, which a replica that missed the reap still holds.
   */
  counterFloor?: number;
}

/**
 * A new version minted at the coordinating replica, which holds `local` (null when it has no
 * copy). Siblings the client's context has seen are superseded; the rest stay as siblings.
 */
export function update(local: VersionedObject | null, input: UpdateInput): VersionedObject {
  const current = local ?? { mode: input.mode, clock: {}, siblings: [] };
  const counter = Math.max(current.clock[input.actor] ?? 0, input.counterFloor ?? 0) + 1;
  const written: Sibling = {
    dot: [input.actor, counter],
    value: input.value,
    tombstone: input.tombstone,
    timestamp: input.timestamp,
  };
  if (input.mode === "lww") {
    const winner = lwwWinner([...current.siblings, written])!;
    return {
      mode: "lww",
      clock: withEvent(current.clock, input.actor, counter),
      siblings: [winner],
    };
  }
  const result: VersionedObject = {
    mode: "causal",
    clock: withEvent(joinClocks(current.clock, input.context), input.actor, counter),
    siblings: survivorsWith(current.siblings, input.context, written),
  };
  assertObject(result);
  return result;
}

/**
 * The merge of two replicas' versions (read repair, replication, anti-entropy). Commutative,
 * associative and idempotent: replicas converge whatever order versions arrive in.
 * A sibling survives if the other side holds it too, or has never seen it.
 */
export function merge(
  a: VersionedObject | null,
  b: VersionedObject | null,
): VersionedObject | null {
  if (a === null) return b;
  if (b === null) return a;
  if (a === b && isMergedWithItself(a)) return a;
  if (a.mode === "crdt" || b.mode === "crdt") {
    if (a.mode !== b.mode) throw new Error("A data type and a plain value never share a key");
    return crdtObject(crdtMerge(crdtStateOf(a), crdtStateOf(b)));
  }
  const clock = joinClocks(a.clock, b.clock);
  if (a.mode === "lww" || b.mode === "lww") {
    const winner = lwwWinner([...a.siblings, ...b.siblings]);
    return built(a, b, { mode: "lww", clock, siblings: winner === undefined ? [] : [winner] });
  }
  const result = built(a, b, { mode: "causal", clock, siblings: mergeSiblings(a, b) });
  assertObject(result);
  return result;
}

/**
 * True when merge(a, a) is `a` itself, known without merging: its clock and siblings are in
 * order (then every step below gives back what it was given) and, in causal mode, its siblings
 * pass the assertion the full merge makes. Merging a version with itself is common where
 * versions are shared, not copied: three replicas that stored the same minted version answer a
 * read with that very object, and the coordinator merges it in three times.
 */
function isMergedWithItself(object: VersionedObject): boolean {
  if (object.mode === "crdt") return false; // its own join decides (crdt.ts)
  if (mergedWithItself.has(object)) return true;
  if (!isSortedClock(object.clock) || !isSorted(object.siblings)) return false;
  if (object.mode === "causal") assertObject(object);
  if (Object.isFrozen(object)) mergedWithItself.add(object); // it cannot change: once is enough
  return true;
}

/** Frozen versions isMergedWithItself said yes to (a read asks it of each reply). */
const mergedWithItself = new WeakSet<VersionedObject>();

/**
 * The merge, or one of its inputs when that input already is the merge: the same mode, the same
 * clock and the very same sibling objects. Merging a newer version into an older copy (what
 * replication, read repair and handoff do all day) gives back the newer version, and returning
 * that object itself, not an equal copy, lets every replica that stores it reuse the text and
 * fingerprint encoded once for it (see encodeVersion and versionFingerprint).
 */
function built(a: VersionedObject, b: VersionedObject, merged: VersionedObject): VersionedObject {
  if (sameParts(b, merged)) return b;
  if (sameParts(a, merged)) return a;
  return merged;
}

function sameParts(object: VersionedObject, merged: VersionedObject): boolean {
  if (object.mode !== merged.mode || object.siblings.length !== merged.siblings.length) {
    return false;
  }
  for (let index = 0; index < merged.siblings.length; index += 1) {
    if (object.siblings[index] !== merged.siblings[index]) return false;
  }
  if (object.clock === merged.clock) return true; // joinClocks gave back this very clock
  // The same actors in the same order, so that the two encode to the same text.
  const actors = Object.keys(merged.clock);
  const objectActors = Object.keys(object.clock);
  if (actors.length !== objectActors.length) return false;
  for (let index = 0; index < actors.length; index += 1) {
    const actor = actors[index]!;
    if (objectActors[index] !== actor || object.clock[actor] !== merged.clock[actor]) return false;
  }
  return true;
}

/**
 * The siblings that survive a causal merge: those both sides hold, and those one side holds
 * that the other's clock has not seen. Written plainly that is two filters with a search of the
 * other side for every sibling (versions.test.ts keeps that form as the reference), quadratic in
 * the siblings; a key under blind concurrent writes collects dozens, and replicas merge on every
 * write. Siblings are kept sorted by dot, so one walk over both lists, as in the merge step of
 * merge sort, finds the same survivors in linear time, already in order.
 */
function mergeSiblings(a: VersionedObject, b: VersionedObject): Sibling[] {
  const left = isSorted(a.siblings) ? a.siblings : sortSiblings(a.siblings);
  const right = isSorted(b.siblings) ? b.siblings : sortSiblings(b.siblings);
  const survivors: Sibling[] = [];
  let i = 0;
  let j = 0;
  while (i < left.length || j < right.length) {
    const order =
      i === left.length ? 1 : j === right.length ? -1 : compareDots(left[i]!.dot, right[j]!.dot);
    if (order === 0) {
      survivors.push(left[i]!); // both hold it
      i += 1;
      j += 1;
    } else if (order < 0) {
      if (!covers(b.clock, left[i]!.dot)) survivors.push(left[i]!); // b has not seen it
      i += 1;
    } else {
      if (!covers(a.clock, right[j]!.dot)) survivors.push(right[j]!); // a has not seen it
      j += 1;
    }
  }
  return survivors;
}

/** Same version on both sides (read repair skips replicas for which this holds). */
export function sameVersion(a: VersionedObject | null, b: VersionedObject | null): boolean {
  if (a === b) return true; // the same object (or both null): the same version
  if (a === null || b === null) return false;
  if (a.mode === "crdt" || b.mode === "crdt") {
    return JSON.stringify(a.siblings[0]?.value) === JSON.stringify(b.siblings[0]?.value);
  }
  return (
    descends(a.clock, b.clock) &&
    descends(b.clock, a.clock) &&
    a.siblings.length === b.siblings.length &&
    a.siblings.every((sibling, index) => sameDot(sibling.dot, b.siblings[index]!.dot))
  );
}

/**
 * A short text that names a version, for anti-entropy's digests (merkle.ts): two replicas'
 * fingerprints are equal exactly when their versions' stored texts are (up to a 64-bit hash
 * collision, as with the digests themselves), and it is far shorter than that text, which is what
 * used to be hashed on every write. It is the mode and the clock, then the XOR of a 64-bit SHA-1
 * digest of each sibling's text (a sibling's digest is computed once: siblings are frozen):
 *
 *   {mode: "causal", clock: {a: 2, b: 1}, siblings: [s1, s2]}
 *   -> '["causal",{"a":2,"b":1}]' + hex(sha1(text of s1) XOR sha1(text of s2)), first 64 bits
 *
 * Why every sibling's whole text and not just its dot, when a dot should name one write: a
 * tombstone reaped everywhere it was seen lets its actor mint the same dot again for the next
 * delete (the counter restarts from the empty copy), with another timestamp; replicas that kept
 * the old tombstone then differ in a sibling with the same dot, and anti-entropy must see that.
 * XOR is fine for a set of siblings: a version never holds two siblings with the same dot.
 */
export function versionFingerprint(object: VersionedObject): string {
  let fingerprint = fingerprints.get(object);
  if (fingerprint !== undefined) return fingerprint;
  let high = 0;
  let low = 0;
  for (let index = 0; index < object.siblings.length; index += 1) {
    const digest = siblingDigest(object.siblings[index]!);
    high ^= digest[0];
    low ^= digest[1];
  }
  // Clocks are always sorted by actor (joinClocks sorts), so equal clocks are equal JSON.
  const prefix = `[${JSON.stringify(object.mode)},${clockJson(object.clock)}]`;
  fingerprint = `${prefix}${hexWord(high)}${hexWord(low)}`;
  if (Object.isFrozen(object)) fingerprints.set(object, fingerprint);
  return fingerprint;
}

function hexWord(word: number): string {
  return (word >>> 0).toString(16).padStart(8, "0");
}

function siblingDigest(sibling: Sibling): [number, number] {
  let digest = siblingDigests.get(sibling);
  if (digest === undefined) {
    const words = sha1Words(siblingText(sibling));
    digest = [words[0]!, words[1]!];
    if (Object.isFrozen(sibling)) siblingDigests.set(sibling, digest);
  }
  return digest;
}

/** JSON.stringify(clock), once per frozen clock: a new version's clock is written into its
 * stored text, its fingerprint and the context of the put's answer. */
function clockJson(clock: VersionVector): string {
  let json = clockTexts.get(clock);
  if (json === undefined) {
    json = JSON.stringify(clock);
    if (Object.isFrozen(clock)) clockTexts.set(clock, json);
  }
  return json;
}

const clockTexts = new WeakMap<VersionVector, string>();

/** The JSON text of a sibling, encoded once per frozen sibling. */
function siblingText(sibling: Sibling): string {
  let text = siblingTexts.get(sibling);
  if (text === undefined) {
    text = JSON.stringify(sibling);
    if (Object.isFrozen(sibling)) siblingTexts.set(sibling, text);
  }
  return text;
}

/**
 * UTF-8 bytes of a sibling's JSON text, counted once per frozen sibling: from its text when
 * that was made already, else from its parts when it has the shape every sibling written here
 * has ({dot: [actor, counter], value, tombstone, timestamp}, in that order), else from its text.
 * Only the store's byte count needs it at write time; the text waits for whoever reads it
 * (an anti-entropy fingerprint, an ownership transfer), and most versions are replaced first.
 */
function siblingBytes(sibling: Sibling): number {
  let bytes = siblingByteCounts.get(sibling);
  if (bytes === undefined) {
    const text = siblingTexts.get(sibling);
    bytes =
      text !== undefined
        ? utf8Length(text)
        : (siblingBytesFromParts(sibling) ?? utf8Length(siblingText(sibling)));
    if (Object.isFrozen(sibling)) siblingByteCounts.set(sibling, bytes);
  }
  return bytes;
}

const siblingKeys = ["dot", "value", "tombstone", "timestamp"];

/** '{"dot":[' actor ',' counter '],"value":' value ',"tombstone":' bool ',"timestamp":' time
 * '}', counted; undefined for any other shape (JSON.stringify then decides). */
function siblingBytesFromParts(sibling: Sibling): number | undefined {
  let index = 0;
  for (const key in sibling) {
    if (key !== siblingKeys[index]) return undefined;
    index += 1;
  }
  const { dot, value, tombstone, timestamp } = sibling;
  if (index !== 4 || !Array.isArray(dot) || dot.length !== 2 || typeof dot[0] !== "string") {
    return undefined;
  }
  if (typeof dot[1] !== "number" || typeof tombstone !== "boolean") return undefined;
  if (typeof timestamp !== "number") return undefined;
  const valueBytes =
    typeof value === "number" ? numberBytes(value) : utf8Length(JSON.stringify(value));
  return (
    8 +
    actorBytes(dot[0]) +
    1 +
    numberBytes(dot[1]) +
    10 +
    valueBytes +
    13 +
    (tombstone ? 4 : 5) +
    13 +
    numberBytes(timestamp) +
    1
  );
}

/** Bytes of UTF-8 that a well-formed text encodes to (JSON.stringify's output always is). */
function utf8Length(text: string): number {
  if (isAsciiText(text)) return text.length; // most are: one native scan
  let bytes = text.length;
  for (let index = 0; index < text.length; index += 1) {
    const unit = text.charCodeAt(index);
    if (unit < 0x80) continue;
    if (unit < 0x800) bytes += 1;
    else if (unit >= 0xd800 && unit <= 0xdbff) {
      bytes += 2; // a surrogate pair: two units, one code point of 4 bytes
      index += 1;
    } else bytes += 2;
  }
  return bytes;
}

/** What was computed once for a frozen version or sibling: a frozen value never changes, so it
 * holds for as long as the value lives, on every node that stores it (the simulator shares
 * frozen messages instead of copying them). */
const fingerprints = new WeakMap<VersionedObject, string>();
const versionTexts = new WeakMap<VersionedObject, string>();
const siblingTexts = new WeakMap<Sibling, string>();
const siblingByteCounts = new WeakMap<Sibling, number>();
const versionByteCounts = new WeakMap<VersionedObject, number>();
const siblingDigests = new WeakMap<Sibling, [number, number]>();

/**
 * The stored form of a version: exactly JSON.stringify(object) (versions.test.ts checks it), built
 * from each sibling's text, encoded once. A key under concurrent blind writes holds dozens of
 * siblings, each replica writes the whole version on every change, and almost every sibling in it
 * was encoded before, on this node or, for a version that came in a message, on the node that
 * sent it: the simulator shares frozen messages instead of copying them.
 */
export function encodeVersion(object: VersionedObject): string {
  const known = versionTexts.get(object);
  if (known !== undefined) return known;
  let text: string;
  const first = object.siblings[0];
  if (first === undefined || !siblingTexts.has(first)) {
    // None encoded before, as in a version a real node has just parsed from a peer's message:
    // then one native call makes the siblings' text (each sibling as siblingText would), and
    // remembering each one's text would only cost (the next message brings new objects).
    // Sibling texts pay where versions share siblings: the simulator, a coordinator's writes.
    const mode = JSON.stringify(object.mode);
    const siblings = JSON.stringify(object.siblings);
    text = `{"mode":${mode},"clock":${clockJson(object.clock)},"siblings":${siblings}}`;
  } else {
    text = textFromParts(object);
  }
  if (Object.isFrozen(object)) versionTexts.set(object, text);
  return text;
}

function textFromParts(object: VersionedObject): string {
  let text = `{"mode":${JSON.stringify(object.mode)},"clock":${clockJson(object.clock)},"siblings":[`;
  for (let index = 0; index < object.siblings.length; index += 1) {
    const encoded = siblingText(object.siblings[index]!);
    text += index === 0 ? encoded : `,${encoded}`;
  }
  return `${text}]}`;
}

/**
 * The UTF-8 bytes of encodeVersion(object), counted from its parts: each sibling's count is
 * made once, with its text, and a version stored by three replicas is counted once. The
 * simulated disk stores versions as objects (versionCodec) and needs only this of their text
 * until something reads the text. Given the version it replaces, and that one's count, only
 * the siblings that differ are looked at (see bytesAfter).
 */
export function encodedVersionBytes(
  object: VersionedObject,
  previous?: { object: VersionedObject; bytes: number },
): number {
  let bytes = versionByteCounts.get(object);
  if (bytes !== undefined) return bytes;
  bytes = previous === undefined ? undefined : bytesAfter(previous.object, previous.bytes, object);
  if (bytes === undefined) {
    const { siblings } = object;
    // '{"mode":' mode ',"clock":' clock ',"siblings":[' siblings joined by ',' ']}'
    bytes = 8 + utf8Length(JSON.stringify(object.mode)) + 9 + clockBytes(object.clock);
    bytes += 13 + Math.max(0, siblings.length - 1) + 2;
    for (let index = 0; index < siblings.length; index += 1) {
      bytes += siblingBytes(siblings[index]!);
    }
  }
  if (Object.isFrozen(object)) versionByteCounts.set(object, bytes);
  return bytes;
}

/**
 * The bytes of `object` from those of `previous`, the version it replaces: a write keeps all
 * but the siblings it superseded, in the same dot order, so one walk over both lists skips the
 * siblings they share (the very same objects) and counts only those that differ. A dozen
 * siblings under blind writes made counting each one, a lookup apiece, the costliest step of a
 * replica write once the text was no longer made. Undefined when the modes differ or a list is
 * out of order.
 */
function bytesAfter(
  previous: VersionedObject,
  previousBytes: number,
  object: VersionedObject,
): number | undefined {
  const now = object.siblings;
  const before = previous.siblings;
  if (previous.mode !== object.mode || !isSorted(now) || !isSorted(before)) return undefined;
  let bytes = previousBytes + clockBytes(object.clock) - clockBytes(previous.clock);
  bytes += Math.max(0, now.length - 1) - Math.max(0, before.length - 1); // the commas
  let i = 0;
  let j = 0;
  while (i < now.length || j < before.length) {
    if (i < now.length && j < before.length && now[i] === before[j]) {
      i += 1;
      j += 1;
      continue;
    }
    const order =
      i === now.length ? 1 : j === before.length ? -1 : compareDots(now[i]!.dot, before[j]!.dot);
    if (order <= 0) bytes += siblingBytes(now[i++]!); // new, or changed
    if (order >= 0) bytes -= siblingBytes(before[j++]!); // gone, or changed
  }
  return bytes;
}

/**
 * UTF-8 bytes of clockJson(clock), counted without making the text unless it is made already:
 * a replica that merges concurrent versions makes a clock no one else has encoded, and only its
 * length is needed for the store (its text waits for a context or a fingerprint that needs it).
 */
function clockBytes(clock: VersionVector): number {
  const json = clockTexts.get(clock);
  if (json !== undefined) return utf8Length(json);
  let bytes = 2; // {}
  let entries = 0;
  for (const actor in clock) {
    bytes += actorBytes(actor) + 1 + numberBytes(clock[actor]!); // "actor":counter
    entries += 1;
  }
  return bytes + Math.max(0, entries - 1); // the commas
}

/** UTF-8 bytes of JSON.stringify(actor), remembered: a cluster has few actors. */
function actorBytes(actor: string): number {
  let bytes = actorByteCounts.get(actor);
  if (bytes === undefined) {
    if (actorByteCounts.size >= actorByteCountMax) actorByteCounts.clear();
    bytes = utf8Length(JSON.stringify(actor));
    actorByteCounts.set(actor, bytes);
  }
  return bytes;
}

const actorByteCounts = new Map<string, number>();
const actorByteCountMax = 4096;

/** Characters of JSON.stringify(value) for a number (ASCII), without making the text for the
 * small whole numbers clocks hold. */
function numberBytes(value: number): number {
  if (Number.isInteger(value) && value >= 0 && value < 1e9) {
    let digits = 1;
    for (let rest = value; rest >= 10; rest = Math.floor(rest / 10)) digits += 1;
    return digits;
  }
  return JSON.stringify(value).length;
}

/** How a store that holds objects (the simulated disk) stores versions: text made on demand. */
export const versionCodec: ObjectCodec<VersionedObject> = {
  encode: encodeVersion,
  byteLength: encodedVersionBytes,
};

/**
 * The version a stored text holds, frozen, with the text remembered as its encoding: a replica
 * that reads a version and sends it on (a read-reply, a handoff) sends the text it read
 * instead of encoding the version again (the real transport splices it into the message).
 */
export function decodeVersion(text: string): VersionedObject {
  const object = freezeJson(JSON.parse(text) as VersionedObject);
  versionTexts.set(object, text);
  return object;
}

/** A data type's state in the shape every replica path (replicate, repair, anti-entropy,
 * hints, ownership handoff) already carries: one sibling, merged by the type's own join. */
export function crdtObject(state: CrdtState): VersionedObject {
  return {
    mode: "crdt",
    clock: { crdt: 1 },
    siblings: [
      { dot: ["crdt", 1], value: state as unknown as JsonValue, tombstone: false, timestamp: 0 },
    ],
  };
}

export function crdtStateOf(object: VersionedObject): CrdtState {
  return object.siblings[0]!.value as unknown as CrdtState;
}

/** Only tombstones left: the key reads as absent. */
export function isDeleted(object: VersionedObject): boolean {
  return object.siblings.every((sibling) => sibling.tombstone);
}

/** Invariants asserted on every version built here (TigerBeetle style: both sides). */
export function assertObject(object: VersionedObject): void {
  if (object.siblings.length === 0) throw new Error("A version must keep at least one sibling");
  for (let index = 0; index < object.siblings.length; index += 1) {
    const sibling = object.siblings[index]!;
    if (!covers(object.clock, sibling.dot)) {
      throw new Error(`Sibling ${sibling.dot.join(":")} is not covered by its object's clock`);
    }
  }
}

// The causal context travels to clients as an opaque string: base64url of JSON holding the
// clock and a tag of the key it was read from. Clients must hand it back unchanged, to the same
// key; decodeContext validates whatever comes back. The tag matters: a context read from one key
// and sent with a write to another would claim to have seen events that key never had, and the
// write would silently supersede siblings nobody saw.

const base64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
export const contextLengthMax = 8192;

export interface DecodedContext {
  /** contextTag(bucket, key) of the key the context was read from. */
  tag: string;
  clock: VersionVector;
}

/** Tags by bucket, then key: looked up without joining the two into a new string first
 * (every get and put answer asks, and hashing a fresh string per lookup showed in profiles). */
const tagCacheSizeMax = 4096;
const tagCache = new PairMemo<string, string>(tagCacheSizeMax);

/** A short digest naming a key inside its contexts (memoised: hot keys are hashed once). */
export function contextTag(bucket: string, key: string): string {
  let tag = tagCache.get(bucket, key);
  if (tag === undefined) {
    tag = sha1Hex(`${bucket}/${key}`).slice(0, 12);
    tagCache.set(bucket, key, tag);
  }
  return tag;
}

const contextEncoder = new TextEncoder();

/** Contexts encoded once per frozen clock (a version's clock is frozen once stored or sent):
 * every get and put answers with one, and most answers name a clock answered before. */
const encodedContexts = new WeakMap<VersionVector, EncodedContext>();

interface EncodedContext {
  tag: string;
  text: string;
  /** The clock in actor order, as the text holds it. */
  sorted: VersionVector;
  /** What decodeContext finds in the text; undefined until asked for, or if it refuses it. */
  decoded: DecodedContext | undefined;
  decodedKnown: boolean;
}

/**
 * The context text for a clock read from the key tagged `tag`. With `rememberDecoding`, the
 * text is also remembered as decoded: a client hands a read's context back with its next write,
 * where validation, translation and the coordinator each decode it, and decoding it (base64,
 * UTF-8, JSON, checks) cost more than encoding it. The remembered value is what decodeContext
 * would find in the text (the property test in versions.test.ts compares the two), and a
 * context it would refuse (too long, or a clock it does not accept) is not remembered. A write's
 * answer asks without: its context is seldom handed back, and remembering it was a third of
 * the cost of answering a write.
 */
export function encodeContext(clock: VersionVector, tag: string, rememberDecoding = true): string {
  let known = encodedContexts.get(clock);
  if (known === undefined || known.tag !== tag) {
    // A frozen clock in order (every version's is) is its own sorted form: no copy needed.
    const sorted = Object.isFrozen(clock) && isSortedClock(clock) ? clock : sortClock(clock);
    const text = encodeContextText(sorted, tag);
    known = { tag, text, sorted, decoded: undefined, decodedKnown: false };
    if (Object.isFrozen(clock)) encodedContexts.set(clock, known);
  }
  if (rememberDecoding) rememberDecodedContext(known);
  return known.text;
}

/** Puts the context in decodeContext's memory (it may have been cleared since it was made). */
function rememberDecodedContext(known: EncodedContext): void {
  if (!known.decodedKnown) {
    known.decodedKnown = true;
    if (known.text.length <= contextLengthMax && isDecodableClock(known.sorted)) {
      known.decoded = Object.freeze({ tag: known.tag, clock: Object.freeze(known.sorted) });
    }
  }
  if (known.decoded !== undefined && !decodedContexts.has(known.text)) {
    rememberDecoded(known.text, known.decoded);
  }
}

/** What decodeContextText accepts in a clock: safe integer counters from 1, no "__proto__". */
function isDecodableClock(clock: VersionVector): boolean {
  for (const actor in clock) {
    const counter = clock[actor]!;
    if (!Number.isSafeInteger(counter) || counter < 1 || actor === "__proto__") return false;
  }
  return true;
}

/** Room for the base64 of one context, grown when a longer one comes (rarely: it is a clock). */
let contextCharCodes = new Uint8Array(256);

/** base64url of the UTF-8 of {"k": tag, "c": clock}, the clock's actors already sorted. */
function encodeContextText(sortedClock: VersionVector, tag: string): string {
  const json = `{"k":${JSON.stringify(tag)},"c":${clockJson(sortedClock)}}`;
  // Actors and tags are ASCII in practice: then the JSON's char codes are its UTF-8 bytes, and
  // no TextEncoder is needed (copied and checked in one pass). Anything else goes through it.
  if (asciiBytes.length < json.length) asciiBytes = new Uint8Array(2 * json.length);
  let units = 0;
  for (let index = 0; index < json.length; index += 1) {
    const unit = json.charCodeAt(index);
    units |= unit;
    asciiBytes[index] = unit;
  }
  if (units > 127) {
    const encoded = contextEncoder.encode(json);
    return base64Url(encoded, encoded.length);
  }
  return base64Url(asciiBytes, json.length);
}

/** base64url without padding of the first `length` bytes, every read within bounds (a typed
 * array read past its end is slow in V8: it made this the costliest step of a put's answer). */
function base64Url(bytes: Uint8Array, length: number): string {
  const charCount = Math.ceil((length * 4) / 3);
  if (contextCharCodes.length < charCount) contextCharCodes = new Uint8Array(2 * charCount);
  const out = contextCharCodes;
  let written = 0;
  let index = 0;
  for (; index + 2 < length; index += 3) {
    const chunk = (bytes[index]! << 16) | (bytes[index + 1]! << 8) | bytes[index + 2]!;
    out[written++] = base64Codes[chunk >> 18]!;
    out[written++] = base64Codes[(chunk >> 12) & 63]!;
    out[written++] = base64Codes[(chunk >> 6) & 63]!;
    out[written++] = base64Codes[chunk & 63]!;
  }
  const rest = length - index; // 0, 1 or 2 bytes left: 0, 2 or 3 characters
  if (rest > 0) {
    const chunk = (bytes[index]! << 16) | (rest > 1 ? bytes[index + 1]! << 8 : 0);
    out[written++] = base64Codes[chunk >> 18]!;
    out[written++] = base64Codes[(chunk >> 12) & 63]!;
    if (rest > 1) out[written++] = base64Codes[(chunk >> 6) & 63]!;
  }
  return base64Decoder.decode(out.subarray(0, written));
}

const base64Codes = Uint8Array.from(base64Alphabet, (char) => char.charCodeAt(0));

/** Any UTF-16 unit beyond ASCII (a surrogate too). */
const nonAscii = /[\u0080-\uffff]/;

function isAsciiText(text: string): boolean {
  return !nonAscii.test(text);
}

/** Room for the bytes of an ASCII context's JSON, reused like contextCharCodes. */
let asciiBytes = new Uint8Array(256);

/** base64url is ASCII, which UTF-8 decodes as itself: one native call makes the string. */
const base64Decoder = new TextDecoder();

/** Each base64url character's value by its char code (the text is checked to hold only them). */
const base64Values = new Uint8Array(128);
for (let index = 0; index < base64Alphabet.length; index += 1) {
  base64Values[base64Alphabet.charCodeAt(index)] = index;
}
const contextDecoder = new TextDecoder("utf-8", { fatal: true });

/** Contexts decoded lately, frozen: a put's context is decoded by validation and again by its
 * coordinator, and a read-modify-write client sends back the text a get just produced. */
const decodedContexts = new Map<string, DecodedContext | undefined>();
const decodedContextCountMax = 4096;

/** The clock and key tag a context names, or undefined when this node did not issue it. The
 * result is frozen (shared by every caller that decodes the same text). */
export function decodeContext(text: string): DecodedContext | undefined {
  const known = decodedContexts.get(text);
  if (known !== undefined || decodedContexts.has(text)) return known;
  const decoded = decodeContextText(text);
  if (decoded !== undefined) Object.freeze(decoded.clock);
  rememberDecoded(text, decoded === undefined ? undefined : Object.freeze(decoded));
  return decoded;
}

function rememberDecoded(text: string, decoded: DecodedContext | undefined): void {
  if (decodedContexts.size >= decodedContextCountMax) decodedContexts.clear();
  decodedContexts.set(text, decoded);
}

/** decodeContext without its memory: every step, every time (the tests compare the two). */
export function decodeContextText(text: string): DecodedContext | undefined {
  if (text.length === 0 || text.length > contextLengthMax || !/^[A-Za-z0-9_-]+$/.test(text)) {
    return undefined;
  }
  if (text.length % 4 === 1) return undefined;
  const bytes = new Uint8Array(Math.floor((text.length * 3) / 4));
  let length = 0;
  for (let index = 0; index < text.length; index += 4) {
    const groupLength = Math.min(4, text.length - index);
    let chunk = 0;
    for (let position = 0; position < 4; position += 1) {
      const sextet = position < groupLength ? base64Values[text.charCodeAt(index + position)]! : 0;
      chunk = (chunk << 6) | sextet;
    }
    bytes[length++] = (chunk >> 16) & 255;
    if (groupLength > 2) bytes[length++] = (chunk >> 8) & 255;
    if (groupLength > 3) bytes[length++] = chunk & 255;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(contextDecoder.decode(bytes.subarray(0, length)));
  } catch {
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return undefined;
  const { k: tag, c: rawClock } = parsed as { k?: unknown; c?: unknown };
  if (typeof tag !== "string" || typeof rawClock !== "object" || rawClock === null)
    return undefined;
  if (Array.isArray(rawClock)) return undefined;
  const clock: VersionVector = {};
  for (const [actor, counter] of Object.entries(rawClock)) {
    if (typeof counter !== "number" || !Number.isSafeInteger(counter) || counter < 1) {
      return undefined;
    }
    if (actor === "__proto__") return undefined; // never an actor; refuse, do not mis-assign
    clock[actor] = counter;
  }
  return { tag, clock };
}
