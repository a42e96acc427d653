// Holding a node's outputs until the writes they may depend on are on disk (lesson 5, "systems
// that never stop": acknowledged means on disk; lesson 9, capacity planning: one fsync shared by
// many writes instead of one each). The idea is "external synchrony" (Nightingale et al.,
// "Rethink the Sync", OSDI 2006): a write need not be on disk when the program moves on, only
// before anything that depends on it leaves the process.
//
// The node's logic (cluster/core) calls the store synchronously: it puts, then sends a
// replicate-ok or replies to a client, all within one event. Under sync `always` with group
// commit the put returns before its fsync, so the runtime routes every send and reply through
// here: an output produced after a write waits until the store's commit covers that write, and
// outputs leave in the order they were produced (a later output never overtakes an earlier one,
// whichever write it followed).
//
// Worked example, 3 client puts handled while fsync #1 (for an earlier write) runs:
//   put a, reply A   -> A waits for sequence 1     writes: 1
//   put b, reply B   -> B waits for sequence 2     writes: 2
//   get c, reply C   -> C waits behind B (order)   writes: 2
// fsync #1 completes; fsync #2 starts and covers writes 1..2; when it completes, A, B and C
// leave in that order. Three acknowledgements, one fsync on their path.

export interface CommitSource {
  /** Writes made so far. */
  readonly writeSequence: number;
  /** Writes 1..commitSequence may be acknowledged. */
  readonly commitSequence: number;
  /** Calls back once commitSequence reaches today's writeSequence (never synchronously). */
  afterCommit(done: (error: Error | undefined) => void): void;
}

/** Outputs waiting for a commit at once; past this the node is far behind its disk. */
export const heldOutputCountMax = 1_000_000;

export class OutputCommit {
  private held: { sequence: number; output: () => void }[] = [];
  private heldStart = 0;
  /** The highest sequence an afterCommit call is already waiting for. */
  private requested = 0;

  /** `onFailure` is told when the store cannot commit (a failed fsync): the held outputs are
   * dropped, since they would acknowledge writes that may be lost. */
  constructor(
    private readonly store: CommitSource,
    private readonly onFailure: (error: Error) => void,
  ) {}

  /** Runs `output` now if nothing it may depend on is uncommitted, else once it is. */
  release(output: () => void): void {
    const sequence = this.store.writeSequence;
    if (this.heldCount === 0 && sequence <= this.store.commitSequence) {
      output();
      return;
    }
    if (this.heldCount >= heldOutputCountMax) {
      throw new Error(`OutputCommit: more than ${heldOutputCountMax} outputs wait for the disk`);
    }
    this.held.push({ sequence, output });
    if (sequence > this.requested) {
      this.requested = sequence;
      this.store.afterCommit((error) => this.drain(error));
    }
  }

  /** Outputs waiting now. */
  get heldCount(): number {
    return this.held.length - this.heldStart;
  }

  private drain(error: Error | undefined): void {
    if (error !== undefined) {
      this.held = [];
      this.heldStart = 0;
      this.onFailure(error);
      return;
    }
    const committed = this.store.commitSequence;
    while (this.heldStart < this.held.length) {
      const next = this.held[this.heldStart]!;
      if (next.sequence > committed) break;
      this.heldStart += 1;
      next.output();
    }
    if (this.heldStart === this.held.length) {
      this.held = [];
      this.heldStart = 0;
    }
  }
}
