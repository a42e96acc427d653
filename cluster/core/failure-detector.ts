// Local failure detection (lesson 5, "systems that never stop"): every node keeps its own
// opinion of every peer, from heartbeats and from failed sends. Opinions are local on purpose:
// A may see B down while C sees it up (a one-way partition does exactly that), and nothing in
// Dynamo needs them to agree. A peer is up while we heard from it within `suspicionMs` and no
// send to it failed since; a failed send (connection refused) marks it down at once.
// Pure: time is passed in by the caller (env.now()).

import type { NodeId } from "./types.ts";

export interface PeerView {
  node: NodeId;
  up: boolean;
  /** Local clock (ms) of the last message heard from this peer, or null if never. */
  lastHeardMs: number | null;
  /** Milliseconds since we last heard from it (the suspicion level a phi detector would
   * turn into a probability), or null if never. */
  silenceMs: number | null;
}

export class FailureDetector {
  private readonly lastHeard = new Map<NodeId, number>();
  private readonly failedAt = new Map<NodeId, number>();

  constructor(
    private peers: NodeId[],
    private readonly suspicionMs: number,
    startedAtMs: number,
  ) {
    if (!(suspicionMs > 0)) {
      throw new RangeError(`Expected \`suspicionMs\` to be positive, got ${suspicionMs}`);
    }
    // Innocent until proven guilty: every peer starts up, as if heard at start.
    for (const peer of peers) this.lastHeard.set(peer, startedAtMs);
  }

  /** Membership changed: new peers start up (as if heard now); departed ones are forgotten. */
  setPeers(peers: NodeId[], nowMs: number): void {
    for (const peer of peers) if (!this.lastHeard.has(peer)) this.lastHeard.set(peer, nowMs);
    for (const peer of this.peers) {
      if (peers.includes(peer)) continue;
      this.lastHeard.delete(peer);
      this.failedAt.delete(peer);
    }
    this.peers = [...peers];
  }

  heard(peer: NodeId, nowMs: number): void {
    this.lastHeard.set(peer, nowMs);
    // Every message heard passes here; most of the time no peer is marked failed.
    if (this.failedAt.size > 0) this.failedAt.delete(peer);
  }

  sendFailed(peer: NodeId, nowMs: number): void {
    this.failedAt.set(peer, nowMs);
  }

  isUp(peer: NodeId, nowMs: number): boolean {
    const heard = this.lastHeard.get(peer);
    if (heard === undefined) return false;
    if (this.failedAt.has(peer)) return false;
    return nowMs - heard <= this.suspicionMs;
  }

  view(nowMs: number): PeerView[] {
    return this.peers.map((node) => {
      const heard = this.lastHeard.get(node) ?? null;
      return {
        node,
        up: this.isUp(node, nowMs),
        lastHeardMs: heard,
        silenceMs: heard === null ? null : Math.max(0, nowMs - heard),
      };
    });
  }
}
