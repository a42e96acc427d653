// Hinted handoff (lesson 5, "systems that never stop", and the Dynamo paper's section 4.6):
// when a primary replica cannot be reached, the coordinator writes to the next healthy node on
// the ring instead (a sloppy quorum). That fallback keeps the version with a *hint* naming the
// primary it stands in for, and hands it back when the primary answers again; only once the
// primary acknowledges does the fallback drop its copy. Hints live in the same store as data,
// under their own prefix, so they survive a restart of the fallback like any other write.
// `HintedHandoff` is the pure bookkeeping of hints; `HandoffRounds` runs the rounds and owns
// the messages: handoff (a hint, to its primary) and handoff-ok (the primary stored it).
// Choosing the fallbacks is the put coordinator's (the `sloppyQuorumTargets` policy), and
// storing a hint the replica side's (replica.ts).

import type { KeyValueStore } from "../storage/store.ts";
import type { FailureDetector } from "./failure-detector.ts";
import type { NodeContext } from "./node-context.ts";
import { splitStorageKey, storageKey, type ReplicaStore } from "./replica-store.ts";
import type { NodeId, PeerMessage } from "./types.ts";
import { merge, sameVersion, type VersionedObject } from "./versions.ts";

/** Data keys never start with this byte (validate.ts refuses control characters). */
export const hintPrefix = "\u0001hint\u0000";

export function hintKey(primary: NodeId, storageKey: string): string {
  return `${hintPrefix}${primary}\u0000${storageKey}`;
}

export function parseHintKey(key: string): { primary: NodeId; storageKey: string } | undefined {
  if (!key.startsWith(hintPrefix)) return undefined;
  const rest = key.slice(hintPrefix.length);
  const separator = rest.indexOf("\u0000");
  if (separator < 0) return undefined;
  return { primary: rest.slice(0, separator), storageKey: rest.slice(separator + 1) };
}

export interface HandoffItem {
  id: string;
  primary: NodeId;
  storageKey: string;
  object: VersionedObject;
}

export class HintedHandoff {
  /** Hint keys by the primary they belong to. */
  private readonly byPrimary = new Map<NodeId, Set<string>>();
  /** Handoffs sent and not yet acknowledged: id -> the hint key and the version sent. */
  private readonly inFlight = new Map<string, { hintKey: string; text: string }>();
  private sequence = 0;
  handedOff = 0;

  constructor(
    private readonly store: KeyValueStore,
    private readonly hintCountMax: number,
  ) {
    for (const key of store.keys()) {
      const parsed = parseHintKey(key);
      if (parsed !== undefined) this.index(parsed.primary, key);
    }
  }

  count(): number {
    let count = 0;
    for (const keys of this.byPrimary.values()) count += keys.size;
    return count;
  }

  /** Keeps (merges) a version for `primary`; false when this node holds too many hints. */
  keep(primary: NodeId, storageKey: string, object: VersionedObject): boolean {
    const key = hintKey(primary, storageKey);
    const text = this.store.get(key);
    if (text === undefined && this.count() >= this.hintCountMax) return false;
    const merged = merge(
      text === undefined ? null : (JSON.parse(text) as VersionedObject),
      object,
    )!;
    this.store.put(key, JSON.stringify(merged));
    this.index(primary, key);
    return true;
  }

  primaries(): NodeId[] {
    return [...this.byPrimary.keys()].sort();
  }

  /** Up to `max` hints for `primary` that are not already on their way. */
  batch(primary: NodeId, max: number): HandoffItem[] {
    const keys = this.byPrimary.get(primary);
    if (keys === undefined) return [];
    const busy = new Set([...this.inFlight.values()].map((entry) => entry.hintKey));
    const items: HandoffItem[] = [];
    for (const key of keys) {
      if (items.length >= max) break;
      if (busy.has(key)) continue;
      const text = this.store.get(key);
      const parsed = parseHintKey(key);
      if (text === undefined || parsed === undefined) continue;
      const id = `h${(this.sequence += 1)}`;
      this.inFlight.set(id, { hintKey: key, text });
      items.push({ id, primary, storageKey: parsed.storageKey, object: JSON.parse(text) });
    }
    return items;
  }

  /** The primary stored what we sent: drop the hint, unless a newer version arrived since. */
  acknowledged(id: string): void {
    const entry = this.inFlight.get(id);
    if (entry === undefined) return;
    this.inFlight.delete(id);
    const current = this.store.get(entry.hintKey);
    if (current === undefined) return;
    const unchanged =
      current === entry.text ||
      sameVersion(
        JSON.parse(current) as VersionedObject,
        JSON.parse(entry.text) as VersionedObject,
      );
    if (!unchanged) return;
    this.store.delete(entry.hintKey);
    const parsed = parseHintKey(entry.hintKey)!;
    const keys = this.byPrimary.get(parsed.primary);
    keys?.delete(entry.hintKey);
    if (keys?.size === 0) this.byPrimary.delete(parsed.primary);
    this.handedOff += 1;
  }

  /** Forget handoffs that were never acknowledged (their hints are offered again). */
  expireInFlight(): void {
    this.inFlight.clear();
  }

  private index(primary: NodeId, key: string): void {
    let keys = this.byPrimary.get(primary);
    if (keys === undefined) this.byPrimary.set(primary, (keys = new Set()));
    keys.add(key);
  }
}

export class HandoffRounds {
  constructor(
    private readonly context: NodeContext,
    private readonly hints: HintedHandoff,
    private readonly store: ReplicaStore,
    private readonly detector: FailureDetector,
  ) {}

  /** One round: a batch of hints to every primary that seems up again. */
  round(): void {
    const now = this.context.env.now();
    for (const primary of this.hints.primaries()) {
      if (!this.detector.isUp(primary, now)) continue;
      for (const item of this.hints.batch(primary, this.context.timing.handoffBatchMax)) {
        this.context.counters.handoffsSent += 1;
        const { bucket, key } = splitStorageKey(item.storageKey);
        this.context.send(primary, {
          type: "handoff",
          id: item.id,
          bucket,
          key,
          object: item.object,
        });
      }
    }
  }

  /** The primary's side: merge the version a fallback kept for us, and say so. */
  onHandoff(from: NodeId, message: Extract<PeerMessage, { type: "handoff" }>): void {
    this.store.applyVersion(storageKey(message.bucket, message.key), message.object);
    this.context.send(from, { type: "handoff-ok", id: message.id });
  }

  onHandoffOk(id: string): void {
    this.hints.acknowledged(id);
  }
}
