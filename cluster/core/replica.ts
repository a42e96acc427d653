// The replica side (lessons 2, 5 and 6; the Dynamo paper's sections 4.4 and 4.5): what a node
// does with the copies it holds when a coordinator asks.
//
//   mint       mint a new version from this replica's own copy (versions.ts's update, or a data
//              type's operation, crdt.ts) and store it; answer mint-ok with it, or
//              mint-refused when a data type operation cannot apply (a type mismatch, a full set)
//   replicate  merge a minted version into the local copy, or, when this node stands in for an
//              unreachable primary, keep it as a hint (hinted-handoff.ts); answer replicate-ok
//   read       answer read-reply with the local copy (or null)
//   repair     merge a version a coordinator or anti-entropy found newer (no answer)
//   reap       drop a tombstone every replica holds, if it is still exactly that tombstone
//
// Merging is commutative and idempotent (versions.ts), so a duplicated or reordered message
// changes nothing twice.

import { crdtApply } from "./crdt.ts";
import type { HintedHandoff } from "./hinted-handoff.ts";
import type { NodeContext } from "./node-context.ts";
import { storageKey, type ReplicaStore } from "./replica-store.ts";
import type { NodeId, PeerMessage } from "./types.ts";
import {
  crdtObject,
  crdtStateOf,
  isDeleted,
  sameVersion,
  update,
  type VersionedObject,
} from "./versions.ts";

type Message<Type extends PeerMessage["type"]> = Extract<PeerMessage, { type: Type }>;

export class Replica {
  /** The highest counter this actor has minted on any key (see versions.ts, counterFloor). */
  private mintedCounterMax = 0;

  constructor(
    private readonly context: NodeContext,
    private readonly store: ReplicaStore,
    private readonly hints: HintedHandoff,
  ) {}

  onMint(from: NodeId, message: Message<"mint">): void {
    const key = storageKey(message.bucket, message.key);
    const local = this.store.load(key);
    let object: VersionedObject;
    if (message.crdt !== undefined) {
      // A data type: apply the operation to this replica's state (its own join does the rest
      // on every other replica). A type mismatch or a full set is refused here.
      try {
        const state = local === null ? null : crdtStateOf(local);
        object = crdtObject(crdtApply(state, message.crdt, this.context.actor));
      } catch (error) {
        const detail = error instanceof Error ? error.message : String(error);
        this.context.send(from, { type: "mint-refused", id: message.id, detail });
        return;
      }
    } else {
      object = update(local, {
        mode: message.mode,
        value: message.value,
        tombstone: message.tombstone,
        context: message.context,
        actor: this.context.actor,
        timestamp: message.timestamp,
        // A key with no copy here may have been reaped: never reuse one of our dots.
        counterFloor: local === null ? this.mintedCounterMax : 0,
      });
      const minted = object.clock[this.context.actor] ?? 0;
      this.mintedCounterMax = Math.max(this.mintedCounterMax, minted);
    }
    this.store.save(key, object);
    this.context.counters.versionsMinted += 1;
    this.context.send(from, { type: "mint-ok", id: message.id, object });
  }

  onReplicate(from: NodeId, message: Message<"replicate">): void {
    const key = storageKey(message.bucket, message.key);
    if (message.hintFor !== undefined && message.hintFor !== this.context.nodeId) {
      if (!this.hints.keep(message.hintFor, key, message.object)) return; // too many hints
      this.context.counters.hintsStored += 1;
    } else {
      this.store.applyVersion(key, message.object);
    }
    this.context.send(from, { type: "replicate-ok", id: message.id });
  }

  onRead(from: NodeId, message: Message<"read">): void {
    const object = this.store.load(storageKey(message.bucket, message.key));
    this.context.send(from, { type: "read-reply", id: message.id, object });
  }

  onRepair(message: Message<"repair">): void {
    if (this.store.applyVersion(storageKey(message.bucket, message.key), message.object)) {
      this.context.counters.repairsApplied += 1;
    }
  }

  onReap(message: Message<"reap">): void {
    const key = storageKey(message.bucket, message.key);
    const local = this.store.load(key);
    const tombstoneOnly = local !== null && isDeleted(local);
    if (tombstoneOnly && sameVersion(local, { ...local, clock: message.clock })) {
      this.store.remove(key);
      this.context.counters.tombstonesReaped += 1;
    }
  }
}
