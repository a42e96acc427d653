// A simulated disk for the deterministic simulator (lesson 5, "systems that never stop": what a
// crash takes away depends on what was synced; lesson 1: the simulator replays any run from its
// seed, so nothing in here may read a clock, set a timer or draw a random number).
//
// The disk outlives the stores opened on it, the way a node's disk outlives the node process:
//
//   const disk = new SimulatedDisk({ name: "n1" });
//   let store = disk.open({ syncPolicy: { kind: "never" } });
//   store.put("k", "v");         // written, not synced: it sits in the disk's unsynced log
//   disk.crash();                // the node loses power: every unsynced write is gone
//   store = disk.open({ syncPolicy: { kind: "never" } });
//   store.get("k");              // undefined
//
// crash() models the worst a crash can do (a power loss, where the page cache is lost too); a
// process crash on a real machine keeps what reached the kernel. `survivingUnsyncedWrites` lets a
// seeded fault schedule model the kernel having flushed some of them: a prefix survives, in
// order, because a log is written front to back; `tornWrite` leaves the next one half written,
// which the next open truncates with a warning, as the real store truncates a torn tail.
//
// It holds objects too (store.ts's ObjectHoldingStore): the simulator's nodes store each version
// as the frozen object they already have, and its text is made only if something reads text;
// a record's size is still its text's, so stats() cannot tell the two apart.
//
// Sizes and input checks come from record.ts, so stats() and errors match the real Bitcask store
// byte for byte and one behaviour suite (store.test.ts) runs against both.
//
// Browser-safe: no Node built-ins, no Date, no timers, no Math.random. Time comes in through
// `now`, and under the `interval` policy elapsed time is checked on the write path; a simulator
// that wants idle writes synced calls syncIfDue() from one of its own timers.

import {
  checkKey,
  checkSyncPolicy,
  checkValue,
  deletionRecordBytes,
  putRecordBytes,
  valueBytesMax,
} from "./record.ts";
import { StoreError } from "./store.ts";
import type { ObjectCodec, ObjectHoldingStore, StoreStats, SyncPolicy } from "./store.ts";

/**
 * One record in the simulated log: a put of text, a put of an object (putObject), or a
 * deletion record (neither). An object's text is made the first time something reads the
 * record as text, and kept in `value` from then on.
 */
interface LoggedRecord {
  key: string;
  value: string | undefined;
  object: object | undefined;
  codec: ObjectCodec<object> | undefined;
  bytes: number;
}

function isDeletion(record: LoggedRecord): boolean {
  return record.value === undefined && record.object === undefined;
}

/** The text a record holds (a put's): for an object, encoded now if no one asked before. */
function textOf(record: LoggedRecord): string {
  if (record.value === undefined) record.value = record.codec!.encode(record.object!);
  return record.value;
}

export interface SimulatedDiskOptions {
  /** Shown in errors, e.g. the node's id. */
  name?: string;
}

export interface SimulatedOpenOptions {
  /** Defaults to `always`. */
  syncPolicy?: SyncPolicy;
  /** Virtual milliseconds; required by the `interval` policy. */
  now?: () => number;
  /** One line per recovery action (a torn write truncated), as in the real store. */
  onWarning?: (message: string) => void;
}

export interface SimulatedCrashOptions {
  /** How many of the oldest unsynced writes the kernel had flushed anyway. Default 0. */
  survivingUnsyncedWrites?: number;
  /** The write after the surviving ones was half done: the next open finds a torn tail,
   * truncates it and says so through onWarning, as the real store does. */
  tornWrite?: boolean;
}

export class SimulatedDisk {
  readonly name: string;
  /**
   * Records on stable storage, as much of them as a replay can still see: the newest put of
   * each key, in the order a replay would first find each key present. A superseded record
   * changes nothing a replay builds, only the byte count (kept in `durableBytes`); keeping
   * every record whole held every version a node ever wrote in memory, and the garbage
   * collector copied them all (most of the simulator's GC time). See `keep`.
   */
  private durable = new Map<string, LoggedRecord>();
  /** Bytes of every record ever made durable (until a merge), superseded ones too. */
  private durableBytes = 0;
  /** Records written but not synced, in write order: what a power loss takes. */
  private unsynced: LoggedRecord[] = [];
  private current: SimulatedDiskStore | undefined;
  /** A crash left half a record at the end of the log (it holds no data: its CRC fails). */
  private tornTail = false;

  constructor(options: SimulatedDiskOptions = {}) {
    this.name = options.name ?? "disk";
  }

  /** Opens a store on this disk, replaying every record it holds (synced or not). One store at
   * a time, like the lock file of the real store. */
  open(options: SimulatedOpenOptions = {}): SimulatedDiskStore {
    if (this.current !== undefined) {
      throw new StoreError(`simulated disk ${this.name} is in use by an open store`);
    }
    const syncPolicy = options.syncPolicy ?? { kind: "always" };
    checkSimulatedSyncPolicy(syncPolicy, options.now);
    if (this.tornTail) {
      this.tornTail = false;
      options.onWarning?.(
        `Truncated torn tail of simulated disk ${this.name} (one half-written record)`,
      );
    }
    const store = new SimulatedDiskStore(
      this,
      syncPolicy,
      options.now ?? (() => 0),
      [...this.durable.values(), ...this.unsynced],
      this.supersededBytes(),
    );
    this.current = store;
    return store;
  }

  /** The node crashes: unsynced writes are lost (all but a surviving prefix), and the open
   * store, if any, is dead. Open a new store to carry on. */
  crash(options: SimulatedCrashOptions = {}): void {
    const surviving = options.survivingUnsyncedWrites ?? 0;
    if (!Number.isInteger(surviving) || surviving < 0) {
      throw new RangeError(
        `Expected \`survivingUnsyncedWrites\` to be a non-negative integer, got ${surviving}`,
      );
    }
    for (const record of this.unsynced.slice(0, surviving)) this.keep(record);
    this.tornTail = (options.tornWrite ?? false) && this.unsynced.length > surviving;
    this.unsynced = [];
    this.current?.markCrashed();
    this.current = undefined;
  }

  /** Records written and not yet synced (for the simulator's views and for tests). */
  unsyncedWriteCount(): number {
    return this.unsynced.length;
  }

  /** Bytes of every record on the disk, synced or not. */
  totalBytes(): number {
    let bytes = this.durableBytes;
    for (const record of this.unsynced) bytes += record.bytes;
    return bytes;
  }

  /** Bytes of the durable records a replay no longer sees (superseded or deleted keys). */
  private supersededBytes(): number {
    let kept = 0;
    for (const record of this.durable.values()) kept += record.bytes;
    return this.durableBytes - kept;
  }

  /**
   * Makes `record` durable. A replay applies records in order and the last one per key wins,
   * and a key takes its place in the store's key order when it becomes present: so a put of a
   * key already present replaces its record in place, a put of an absent key goes last, and a
   * deletion leaves nothing to replay (the key is absent either way).
   */
  private keep(record: LoggedRecord): void {
    this.durableBytes += record.bytes;
    if (isDeletion(record)) this.durable.delete(record.key);
    else this.durable.set(record.key, record);
  }

  // ---- used by SimulatedDiskStore ----------------------------------------------------------

  /** @internal */
  append(record: LoggedRecord): void {
    this.unsynced.push(record);
  }

  /** @internal */
  flush(): void {
    for (const record of this.unsynced) this.keep(record);
    this.unsynced = [];
  }

  /** @internal A merge writes its output and syncs it before the old records go: afterwards
   * the disk holds exactly the live records, all durable. */
  replaceWithMerged(records: LoggedRecord[]): void {
    this.durable = new Map();
    this.durableBytes = 0;
    for (const record of records) this.keep(record);
    this.unsynced = [];
  }

  /** @internal */
  released(store: SimulatedDiskStore): void {
    if (this.current === store) this.current = undefined;
  }
}

/** A KeyValueStore on a SimulatedDisk; get one from SimulatedDisk.open. It holds objects too
 * (store.ts's ObjectHoldingStore): the simulator's nodes store their versions that way. */
export class SimulatedDiskStore implements ObjectHoldingStore {
  /** The key directory; here it holds the latest put record of each key itself. */
  private readonly live = new Map<string, LoggedRecord>();
  private liveBytes = 0;
  private totalBytes = 0;
  private mergeCount = 0;
  private lastSyncMs: number;
  private state: "open" | "closed" | "crashed" = "open";

  /** @internal Use SimulatedDisk.open. */
  constructor(
    private readonly disk: SimulatedDisk,
    private readonly syncPolicy: SyncPolicy,
    private readonly now: () => number,
    records: LoggedRecord[],
    /** Bytes of records on the disk that a replay no longer sees (superseded, deleted). */
    supersededBytes = 0,
  ) {
    this.lastSyncMs = now();
    this.totalBytes = supersededBytes;
    for (const record of records) {
      this.totalBytes += record.bytes;
      this.apply(record);
    }
  }

  get(key: string): string | undefined {
    this.assertOpen();
    // A key found is a key a put checked; only a miss may be a bad key (the same error as
    // before, without checking every read of a node's hot path again).
    const record = this.live.get(key);
    if (record !== undefined) return textOf(record);
    checkKey(key);
    return undefined;
  }

  getObject(key: string): object | undefined {
    this.assertOpen();
    const record = this.live.get(key);
    if (record !== undefined) return record.object;
    checkKey(key);
    return undefined;
  }

  put(key: string, value: string): void {
    this.assertOpen();
    checkKey(key);
    checkValue(value);
    const bytes = putRecordBytes(key, value);
    this.write({ key, value, object: undefined, codec: undefined, bytes });
  }

  /** A put whose text is codec.encode(object), made only when read as text. Counted and
   * limited as that text would be: a record's bytes are a deletion's plus the value's. */
  putObject<Value extends object>(key: string, object: Value, codec: ObjectCodec<Value>): void {
    this.assertOpen();
    checkKey(key);
    if (!Object.isFrozen(object)) {
      throw new TypeError("Expected a frozen object: the store shares it instead of copying it");
    }
    const keyBytes = deletionRecordBytes(key); // a put's record is this plus its value's bytes
    const anyCodec = codec as unknown as ObjectCodec<object>;
    const previous = this.live.get(key);
    const valueBytes =
      previous?.codec === anyCodec
        ? codec.byteLength(object, {
            object: previous.object as Value,
            bytes: previous.bytes - keyBytes,
          })
        : codec.byteLength(object);
    if (valueBytes > valueBytesMax) {
      throw new RangeError(
        `Expected \`value\` to be at most ${valueBytesMax} bytes of UTF-8, got ${valueBytes}`,
      );
    }
    this.write({ key, value: undefined, object, codec: anyCodec, bytes: keyBytes + valueBytes });
  }

  delete(key: string): void {
    this.assertOpen();
    checkKey(key);
    if (!this.live.has(key)) return;
    const bytes = deletionRecordBytes(key);
    this.write({ key, value: undefined, object: undefined, codec: undefined, bytes });
  }

  keys(): string[] {
    this.assertOpen();
    return [...this.live.keys()];
  }

  sync(): void {
    this.assertOpen();
    this.disk.flush();
    this.lastSyncMs = this.now();
  }

  /** Under `interval`: syncs when intervalMs has passed since the last sync; true if it did.
   * The simulator calls this from a timer so that writes followed by silence get synced. */
  syncIfDue(): boolean {
    this.assertOpen();
    if (this.syncPolicy.kind !== "interval") return false;
    if (this.now() - this.lastSyncMs < this.syncPolicy.intervalMs) return false;
    this.sync();
    return true;
  }

  merge(): void {
    this.assertOpen();
    this.disk.replaceWithMerged([...this.live.values()]);
    this.totalBytes = this.liveBytes;
    this.lastSyncMs = this.now();
    this.mergeCount += 1;
  }

  stats(): StoreStats {
    this.assertOpen();
    return {
      keyCount: this.live.size,
      liveBytes: this.liveBytes,
      totalBytes: this.totalBytes,
      mergeCount: this.mergeCount,
    };
  }

  close(): void {
    if (this.state !== "open") return;
    if (this.syncPolicy.kind !== "never") this.disk.flush();
    this.state = "closed";
    this.disk.released(this);
  }

  /** @internal Called by SimulatedDisk.crash. */
  markCrashed(): void {
    this.state = "crashed";
  }

  private write(record: LoggedRecord): void {
    this.disk.append(record);
    this.totalBytes += record.bytes;
    this.apply(record);
    switch (this.syncPolicy.kind) {
      case "always":
        this.sync();
        return;
      case "interval":
        if (this.now() - this.lastSyncMs >= this.syncPolicy.intervalMs) this.sync();
        return;
      case "never":
        return;
    }
  }

  private apply(record: LoggedRecord): void {
    const previous = this.live.get(record.key);
    if (previous !== undefined) this.liveBytes -= previous.bytes;
    if (isDeletion(record)) {
      this.live.delete(record.key);
    } else {
      this.live.set(record.key, record);
      this.liveBytes += record.bytes;
    }
  }

  private assertOpen(): void {
    if (this.state === "closed") {
      throw new StoreError(`The store on simulated disk ${this.disk.name} is closed`);
    }
    if (this.state === "crashed") {
      throw new StoreError(
        `The store on simulated disk ${this.disk.name} crashed; open a new one with disk.open()`,
      );
    }
  }
}

function checkSimulatedSyncPolicy(policy: SyncPolicy, now: (() => number) | undefined): void {
  checkSyncPolicy(policy);
  if (policy.kind === "interval" && now === undefined) {
    throw new TypeError("Expected `now` (virtual milliseconds) with the `interval` sync policy");
  }
}
