// Ownership transfer (lesson 8, "scaling out"; the Dynamo paper's section 4.9): after a ring
// change, a node may hold keys of partitions it no longer replicates. It hands them to the
// partition's new replicas in the background: at most `transferPartitionsAtOnceMax`
// partitions at a time, a batch of keys per handoff round, each key sent to every new replica;
// a key is dropped here only once all of them acknowledged it, nothing newer arrived
// meanwhile, and this node is still not a replica. Unacknowledged batches are offered again the
// next round (merging makes a second copy harmless).
//
// Messages: transfer (a key's version, to a new replica), transfer-ok (it stored it).

import type { AntiEntropy } from "./anti-entropy.ts";
import type { Gossip } from "./gossip.ts";
import type { NodeContext } from "./node-context.ts";
import { splitStorageKey, storageKey, type ReplicaStore } from "./replica-store.ts";
import type { NodeId, PeerMessage } from "./types.ts";
import type { VersionedObject } from "./versions.ts";

/** Partitions a node hands over at once: the rest wait, so a leave does not flood the links. */
export const transferPartitionsAtOnceMax = 2;

export class OwnershipTransfer {
  /** Transfers sent and not yet acknowledged by every new replica. */
  private readonly transfers = new Map<
    string,
    { key: string; text: string; waiting: Set<NodeId> }
  >();
  private sequence = 0;

  constructor(
    private readonly context: NodeContext,
    private readonly gossip: Gossip,
    private readonly store: ReplicaStore,
    private readonly antiEntropy: AntiEntropy,
  ) {}

  /** Partitions whose keys this node still holds but no longer replicates. */
  partitionsToTransfer(): number[] {
    return this.antiEntropy
      .partitionsWithKeys()
      .filter((partition) => !this.gossip.replicasOf(partition).includes(this.context.nodeId));
  }

  /** One round: the next batch of keys of the first partitions to hand over, to every new
   * replica, when all of them seem up. */
  round(): void {
    this.transfers.clear(); // unacknowledged batches are offered again
    const now = this.context.env.now();
    const { detector } = this.gossip;
    for (const partition of this.partitionsToTransfer().slice(0, transferPartitionsAtOnceMax)) {
      const replicas = this.gossip.replicasOf(partition);
      if (!replicas.every((replica) => detector.isUp(replica, now))) continue;
      const keys = this.antiEntropy.tree(partition).keys();
      for (const key of keys.slice(0, this.context.timing.handoffBatchMax)) {
        const text = this.store.text(key);
        if (text === undefined) continue;
        const id = `t${(this.sequence += 1)}`;
        this.transfers.set(id, { key, text, waiting: new Set(replicas) });
        const object = JSON.parse(text) as VersionedObject;
        const where = splitStorageKey(key);
        for (const replica of replicas) {
          this.context.send(replica, { type: "transfer", id, ...where, object });
        }
      }
    }
  }

  /** The new replica's side: merge the version, and say so. */
  onTransfer(from: NodeId, message: Extract<PeerMessage, { type: "transfer" }>): void {
    this.store.applyVersion(storageKey(message.bucket, message.key), message.object);
    this.context.send(from, { type: "transfer-ok", id: message.id });
  }

  onTransferOk(from: NodeId, id: string): void {
    const transfer = this.transfers.get(id);
    if (transfer === undefined) return;
    transfer.waiting.delete(from);
    if (transfer.waiting.size > 0) return;
    this.transfers.delete(id);
    // Drop our copy only if nothing newer arrived meanwhile and we are still not a replica.
    if (this.store.text(transfer.key) !== transfer.text) return;
    const partition = this.store.partitionOf(transfer.key);
    if (this.gossip.replicasOf(partition).includes(this.context.nodeId)) return;
    this.store.remove(transfer.key);
    this.context.counters.transfersCompleted += 1;
  }
}
