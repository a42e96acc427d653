// The storage interface every node writes through (lesson 2, "copy state instead of locating it",
// and lesson 5, "your state does not get corrupted"). Two implementations share it and one
// behaviour suite (store.test.ts): the log-structured Bitcask-style store on a real disk
// (bitcask.ts) and the simulated disk the deterministic simulator uses (simulated-disk.ts).
//
// The interface is synchronous on purpose: the node's logic (cluster/core) is a state machine
// that handles one event at a time, and a synchronous store keeps each step a pure function of
// (state, event). The real store pays for this with a blocking fsync under `always`; that is
// the honest cost of "acknowledged means on disk", unless it is opened with group commit: then
// put() returns before its fsync and the real runtime holds every output that follows a write
// until one shared fsync covers it (bitcask.ts, output-commit.ts), which keeps the same promise.

/** When a write reaches stable storage. */
export type SyncPolicy =
  /** fsync before put() returns: an acknowledged write survives kill -9 and power loss. */
  | { kind: "always" }
  /** fsync at most every `intervalMs`: a crash loses at most that window of writes. */
  | { kind: "interval"; intervalMs: number }
  /** never fsync explicitly: the operating system decides (a process crash loses nothing that
   * reached the kernel; a power loss may lose anything). */
  | { kind: "never" };

export const syncPolicyNames = ["always", "interval", "never"] as const;

export interface StoreStats {
  /** Live keys in the key directory. */
  keyCount: number;
  /** Bytes of records that are still the latest for their key. */
  liveBytes: number;
  /** Bytes on disk (or in the simulated disk), dead records included. */
  totalBytes: number;
  /** Completed merges (compactions). */
  mergeCount: number;
}

export interface KeyValueStore {
  /** The latest value for `key`, or undefined when absent or deleted. */
  get(key: string): string | undefined;
  /** Appends a record; under sync `always` it is on stable storage when this returns (with
   * Bitcask's group commit: once afterCommit calls back, before anything is acknowledged). */
  put(key: string, value: string): void;
  /** Appends a deletion record (a store-level tombstone); absent keys are a no-op. */
  delete(key: string): void;
  /** Every live key, in no promised order (callers that need an order sort). */
  keys(): string[];
  /**
   * Optional, and cheap (no read from disk): an opaque number naming the record `key` has now,
   * undefined when the key is absent. It changes whenever that could be a different record: a
   * put (even of the same value), a deletion, a merge that moves the record, a reopen of the
   * store; reading never changes it. A caller that keeps what it last read or wrote for a key
   * along with this number may use it again, unread, while the number stays the same.
   *
   *   store.put("k", text); const kept = { revision: store.revision!("k"), text };
   *   store.revision!("k") === kept.revision  // nothing wrote "k" since: `text` is still its value
   */
  revision?(key: string): number | undefined;
  /** Forces everything written so far to stable storage. */
  sync(): void;
  /** Rewrites the live records into fresh files and drops dead ones. */
  merge(): void;
  stats(): StoreStats;
  /** Syncs according to the policy and releases files; the store is unusable afterwards. */
  close(): void;
}

/** How a store that holds objects (ObjectHoldingStore) turns one into its stored text. */
export interface ObjectCodec<Value extends object> {
  /** The text the object stands for: what a text store would hold, and what get() returns. */
  encode(object: Value): string;
  /** The UTF-8 bytes of encode(object), counted without building the text where it can be
   * (StoreStats' byte counts and the value size limit are the text's, as in a text store).
   * `previous` is the object this one replaces under its key, with its count, when there is
   * one: a codec may count only what changed. */
  byteLength(object: Value, previous?: { object: Value; bytes: number }): number;
}

/**
 * A store that can also keep a value as the frozen object its text encodes, making the text
 * only when something reads text (a replay as text, an ownership transfer, get()). Only the
 * simulated disk is one: the simulator's nodes share frozen objects instead of copying them
 * (immutable.ts), and encoding every replica write to text and decoding it again was the
 * largest cost left per message. The real Bitcask store holds text, as a disk does.
 *
 *   store.putObject("k", version, codec);  // counted as codec.byteLength(version) bytes
 *   store.getObject("k") === version;      // the same frozen object, no parse
 *   store.get("k") === codec.encode(version);  // made once, on this first read as text
 */
export interface ObjectHoldingStore extends KeyValueStore {
  /** put(key, codec.encode(object)), the text left unmade: the object must be frozen. */
  putObject<Value extends object>(key: string, object: Value, codec: ObjectCodec<Value>): void;
  /** The object putObject stored under `key`, or undefined when the key is absent or its value
   * was put as text. */
  getObject(key: string): object | undefined;
}

/** A store that refused to open: a corrupt file it could not repair, a folder it cannot use. */
export class StoreError extends Error {
  override name = "StoreError";
}
