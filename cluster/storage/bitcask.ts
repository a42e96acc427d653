// A log-structured key-value store in the manner of Bitcask (Basho's storage engine for Riak)
// (lesson 5, "systems that never stop": a node that is killed mid-write restarts with every
// acknowledged write; lesson 2, "copy state instead of locating it": each replica keeps its copy
// here).
//
// The design in four sentences. Every put and delete appends one checksummed record (record.ts)
// to the active data file, and data files rotate at `fileBytesMax`. An in-memory key directory
// maps each key to the file and byte offset of its latest record, so a read is one positioned
// read. On open the store rebuilds the key directory from each file's hint (hint.ts: keys and
// offsets, checked against the data file's CRC) or, where no hint matches, by checking every
// record. merge() copies the live records into fresh files and deletes the old ones, dropping
// overwritten values and deletion records.
//
// Folder layout (e.g. `.neverstop/n1/data/`):
//
//   000001.data            data files, replayed in id order: a later record wins
//   000001.hint            keys and offsets of a prefix of 000001.data (written at rotation,
//                          merge and close; never fsynced: a lost or torn hint only costs time)
//   000007.data.merging    merge output not yet renamed: ignored and removed on open
//   LOCK                   the process id of the process that has the folder open
//
// What a crash can leave behind, and what open does with it:
//   - a torn tail (the newest file ends in a record cut short or with a bad CRC, and no valid
//     record follows it): the write was never acknowledged, so the tail is truncated.
//   - a bad record with valid records after it: acknowledged data is damaged. Open refuses with
//     a StoreError naming file and byte, unless `repair: true`, which truncates there.
//   - a merge cut short: see merge() for why every crash point leaves a consistent store.
//
// Appends are synchronous (fs.writeSync): the node's logic handles one event at a time and sees
// its own writes at once. When a write may be acknowledged depends on the sync policy and on
// group commit:
//   - `always` (default): put() fsyncs before it returns, one fsync per write.
//   - `always` with `groupCommit: true`: put() returns once the record is in the file, and the
//     write may be acknowledged when afterCommit() calls back. One fsync, run off the event loop
//     (fs.fsync), covers every write made before it started; writes that arrive while it is in
//     flight wait for the next one and share it. Worked example: 32 writers, fsync 2 ms: the
//     first write starts fsync #1 alone; the 31 that arrive during those 2 ms share fsync #2, so
//     32 acknowledgements cost 2 fsyncs instead of 32.
//   - `interval` and `never`: afterCommit() calls back at once; those policies acknowledge before
//     the disk has the data. Under `interval` the periodic fsync also runs off the event loop.

import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { crc32 } from "./crc32.ts";
import { decodeHint, HintBuilder } from "./hint.ts";
import {
  checkKey,
  checkRecordAt,
  checkSyncPolicy,
  checkValue,
  decodeKey,
  decodeValue,
  encodeRecord,
  recordHeaderBytes,
} from "./record.ts";
import type { Checksum, RecordHeader } from "./record.ts";
import { StoreError } from "./store.ts";
import type { KeyValueStore, StoreStats, SyncPolicy } from "./store.ts";

export const fileBytesMaxDefault = 64 * 1024 * 1024;
/** Small enough for tests that want many files, large enough for one small record. */
export const fileBytesMinimum = 64;
/** Offsets stay far below 2^53, and one data file stays readable in one buffer. */
export const fileBytesMaximum = 1024 * 1024 * 1024;

/** zlib's native CRC-32 (Node 20.15+): the same numbers as crc32.ts (crc32.test.ts checks that),
 * about ten times faster, which is what recovery and merge spend their time on. */
const checksum: Checksum =
  typeof zlib.crc32 === "function"
    ? (bytes, start, end) => zlib.crc32(bytes.subarray(start, end))
    : crc32;

const dataFilePattern = /^(\d{6,})\.data$/;
const hintFilePattern = /^(\d{6,})\.hint$/;
const mergeTemporarySuffix = ".merging";
const hintTemporarySuffix = ".writing";
const lockFileName = "LOCK";

export interface BitcaskOptions {
  /** The data folder; created (with its parents) when missing. */
  folder: string;
  /** Defaults to `always`: acknowledged means on disk. */
  syncPolicy?: SyncPolicy;
  /** A data file is rotated before it would grow past this. Default 64 MiB. */
  fileBytesMax?: number;
  /** Truncate at a corrupt record instead of refusing to open (acknowledged data is lost). */
  repair?: boolean;
  /** One line per recovery action (a torn tail truncated, a stale lock removed, a repair). */
  onWarning?: (message: string) => void;
  /** Milliseconds from a monotonic clock, for the `interval` policy. Default performance.now. */
  now?: () => number;
  /** Tests only: stop merge() at a crash point by throwing, leaving the files as they are. */
  mergeFault?: MergeFault;
  /** Under `always`: put() does not fsync; afterCommit() says when a write may be acknowledged,
   * and concurrent writes share one fsync (see the header). Default false. */
  groupCommit?: boolean;
}

/** Called once the writes it waited for are committed, or with the error that stopped them. */
export type CommitCallback = (error: Error | undefined) => void;

export type MergeFault = "after-temporaries" | "after-renames" | "after-first-deletion";

interface KeyDirectoryEntry {
  fileId: number;
  /** Where the record starts in its file. */
  offset: number;
  recordBytes: number;
  /** What revision(key) answers: a number no other entry of any store in this process had. */
  revision: number;
}

/**
 * Revisions handed out by every store in this process, counting up: an entry made by a write, a
 * merge that moved the record or a reopen that rebuilt the key directory never repeats the
 * revision of an earlier one, even one of another store or an earlier opening of this folder.
 * A double counts exactly far past what any process writes (2^53).
 */
let nextRevision = 1;

interface DataFile {
  id: number;
  path: string;
  fd: number;
  bytes: number;
  /** For the file appends go to: its hint entries so far and the CRC-32 of its bytes. */
  hint?: { builder: HintBuilder; dataCrc: number } | undefined;
}

/** Folders (real paths) that a store in this process has open: the lock's in-process half. */
const foldersOpenInThisProcess = new Set<string>();

export class BitcaskStore implements KeyValueStore {
  private readonly files = new Map<number, DataFile>();
  private readonly keyDirectory = new Map<string, KeyDirectoryEntry>();
  /** The file appends go to; undefined until the first write into an empty folder. */
  private active: DataFile | undefined;
  private liveBytes = 0;
  private totalBytes = 0;
  private mergeCount = 0;
  /** The active file has writes that have not been fsynced. */
  private dirty = false;
  private lastSyncMs: number;
  private timer: ReturnType<typeof setInterval> | undefined;
  private closed = false;
  /** Records appended since open; a write's sequence number is this count right after it. */
  private written = 0;
  /** Writes 1..committed may be acknowledged (see afterCommit). */
  private committed = 0;
  /** The fd an fs.fsync is running on, off the event loop; undefined when none is. */
  private syncingFd: number | undefined;
  /** Files closed while their fsync was in flight: closed when it completes, never before, so
   * that the fd number cannot be reused by a new file and the fsync land on the wrong one. */
  private readonly closeAfterSync = new Set<number>();
  private readonly commitWaiters: { sequence: number; done: CommitCallback }[] = [];
  /** A failed fsync: the kernel may have dropped the pages, so nothing after it is promised. */
  private failure: Error | undefined;

  private constructor(
    private readonly folder: string,
    private readonly realFolder: string,
    private readonly syncPolicy: SyncPolicy,
    private readonly fileBytesMax: number,
    private readonly now: () => number,
    private readonly mergeFault: MergeFault | undefined,
    private readonly groupCommit: boolean,
  ) {
    this.lastSyncMs = now();
  }

  /** Opens (and recovers) the store in `options.folder`; throws StoreError when it cannot. */
  static open(options: BitcaskOptions): BitcaskStore {
    const syncPolicy = options.syncPolicy ?? { kind: "always" };
    checkSyncPolicy(syncPolicy);
    const fileBytesMax = options.fileBytesMax ?? fileBytesMaxDefault;
    if (
      !Number.isInteger(fileBytesMax) ||
      fileBytesMax < fileBytesMinimum ||
      fileBytesMax > fileBytesMaximum
    ) {
      throw new RangeError(
        `Expected \`fileBytesMax\` to be an integer from ${fileBytesMinimum} to ${fileBytesMaximum}, got ${fileBytesMax}`,
      );
    }
    const warn = options.onWarning ?? (() => {});
    const realFolder = prepareFolder(options.folder);
    acquireLock(options.folder, realFolder, warn);
    const now = options.now ?? (() => performance.now());
    const store = new BitcaskStore(
      options.folder,
      realFolder,
      syncPolicy,
      fileBytesMax,
      now,
      options.mergeFault,
      options.groupCommit === true && syncPolicy.kind === "always",
    );
    try {
      store.recover(options.repair ?? false, warn);
    } catch (error) {
      store.closeFiles();
      releaseLock(options.folder, realFolder);
      throw error;
    }
    store.startSyncTimer();
    return store;
  }

  get(key: string): string | undefined {
    this.assertOpen();
    checkKey(key);
    const entry = this.keyDirectory.get(key);
    if (entry === undefined) return undefined;
    const { bytes, header } = this.readRecord(entry);
    assert(header.kind === "put", "the key directory points only at puts");
    assert(decodeKey(bytes, 0, header) === key, "the key directory points at the key's own record");
    return decodeValue(bytes, 0, header);
  }

  put(key: string, value: string): void {
    this.assertOpen();
    checkKey(key);
    checkValue(value);
    this.writeRecord(key, encodeRecord(key, value, checksum), "put");
  }

  delete(key: string): void {
    this.assertOpen();
    checkKey(key);
    if (!this.keyDirectory.has(key)) return;
    this.writeRecord(key, encodeRecord(key, undefined, checksum), "deletion");
  }

  keys(): string[] {
    this.assertOpen();
    return [...this.keyDirectory.keys()];
  }

  /**
   * The key directory entry's revision (store.ts says what it promises), undefined when the key
   * is absent. A lookup in memory, no read: a caller that kept the value it read or wrote along
   * with this number need not read the record back while the number stays the same. Not checked
   * against the key's rules (the directory only holds valid keys, so an invalid one is absent).
   */
  revision(key: string): number | undefined {
    this.assertOpen();
    return this.keyDirectory.get(key)?.revision;
  }

  sync(): void {
    this.assertOpen();
    this.syncActive();
  }

  /** Writes made since the store opened. */
  get writeSequence(): number {
    return this.written;
  }

  /** Writes 1..commitSequence may be acknowledged: on disk under `always`, written otherwise. */
  get commitSequence(): number {
    return this.groupCommit ? this.committed : this.written;
  }

  /**
   * Calls `done` once every write made before this call may be acknowledged (commitSequence has
   * reached today's writeSequence). Never calls back synchronously. With group commit this
   * starts an fsync if none is in flight; otherwise the waiter rides the next one.
   */
  afterCommit(done: CommitCallback): void {
    this.assertOpen();
    const sequence = this.written;
    if (this.failure !== undefined || sequence <= this.commitSequence) {
      const failure = this.failure;
      queueMicrotask(() => done(failure));
      return;
    }
    this.commitWaiters.push({ sequence, done });
    this.startGroupSync();
  }

  stats(): StoreStats {
    this.assertOpen();
    return {
      keyCount: this.keyDirectory.size,
      liveBytes: this.liveBytes,
      totalBytes: this.totalBytes,
      mergeCount: this.mergeCount,
    };
  }

  /**
   * Rewrites the live records into new files and deletes the old ones. Crash safety, step by
   * step (a crash may stop it between any two steps):
   *   1. Output is written to `NNNNNN.data.merging` and fsynced: open ignores and removes these,
   *      so a crash here leaves exactly the old store.
   *   2. Each output is renamed to `NNNNNN.data`, with ids above every old file. A crash between
   *      renames leaves the old files plus some outputs; each output holds the very value the old
   *      files end with for its keys, so replaying both gives the same store.
   *   3. The old files are deleted oldest first. Why oldest first: a key deleted before the merge
   *      has no output record, only old records ending in its deletion record; keeping any
   *      suffix of the old files keeps that deletion record after every older put of the key.
   *      Newest first could leave an old put without its deletion: a resurrected key.
   */
  merge(): void {
    this.assertOpen();
    this.syncActive();
    const oldFiles = [...this.files.values()].sort((left, right) => left.id - right.id);
    const firstOutputId = this.maxFileId() + 1;
    const { outputs, keyDirectory } = this.writeMergeTemporaries(firstOutputId);
    this.injectMergeFault("after-temporaries");
    for (const output of outputs) fs.renameSync(output.temporaryPath, output.file.path);
    fsyncFolder(this.folder);
    this.injectMergeFault("after-renames");
    for (const file of oldFiles) {
      this.closeFile(file.fd);
      this.files.delete(file.id);
      fs.unlinkSync(file.path);
      fs.rmSync(hintPathOf(file.path), { force: true });
      this.injectMergeFault("after-first-deletion");
    }
    fsyncFolder(this.folder);
    this.active = undefined;
    this.totalBytes = 0;
    for (const [index, output] of outputs.entries()) {
      const isLast = index === outputs.length - 1;
      const file = { ...output.file, fd: fs.openSync(output.file.path, isLast ? "a+" : "r") };
      if (!isLast) {
        writeHint(file);
        file.hint = undefined;
      }
      this.files.set(file.id, file);
      this.totalBytes += file.bytes;
      if (isLast) this.active = file;
    }
    this.keyDirectory.clear();
    for (const [key, entry] of keyDirectory) this.keyDirectory.set(key, entry);
    assert(this.liveBytes === this.totalBytes, "after a merge every byte on disk is live");
    this.mergeCount += 1;
  }

  close(): void {
    if (this.closed) return;
    if (this.syncPolicy.kind !== "never") this.syncActive();
    if (this.active !== undefined) writeHint(this.active);
    this.closeFiles();
    releaseLock(this.folder, this.realFolder);
    this.closed = true;
    // Everything is on disk now: whoever still waits may acknowledge.
    const waiters = this.commitWaiters.splice(0);
    queueMicrotask(() => {
      for (const waiter of waiters) waiter.done(this.failure);
    });
  }

  /**
   * Tests only: stop as kill -9 would. File handles are dropped without fsync and the lock file
   * stays behind (the next open in this process treats it as stale). Unlike a power loss, what
   * reached the kernel is kept: use the simulated disk to model losing unsynced writes.
   */
  crashForTesting(): void {
    if (this.closed) return;
    // A crashed process acknowledges nothing more.
    this.commitWaiters.splice(0);
    this.closeFiles();
    foldersOpenInThisProcess.delete(this.realFolder);
    this.closed = true;
  }

  // ---- recovery ----------------------------------------------------------------------------

  private recover(repair: boolean, warn: (message: string) => void): void {
    const names = fs.readdirSync(this.folder);
    for (const name of names) {
      if (name.endsWith(mergeTemporarySuffix)) {
        fs.rmSync(path.join(this.folder, name), { force: true });
        warn(`Removed unfinished merge output ${path.join(this.folder, name)}`);
      }
      if (name.endsWith(hintTemporarySuffix))
        fs.rmSync(path.join(this.folder, name), { force: true });
    }
    const ids = names
      .map((name) => dataFilePattern.exec(name)?.[1])
      .filter((id): id is string => id !== undefined)
      .map(Number)
      .sort((left, right) => left - right);
    // A hint whose data file is gone (a merge deleted it) describes nothing.
    for (const name of names) {
      const hintId = hintFilePattern.exec(name)?.[1];
      if (hintId !== undefined && !ids.includes(Number(hintId))) {
        fs.rmSync(path.join(this.folder, name), { force: true });
      }
    }
    for (const [index, id] of ids.entries()) {
      const isNewest = index === ids.length - 1;
      const filePath = path.join(this.folder, dataFileName(id));
      const { bytes, hint } = this.replayFile(id, filePath, isNewest, repair, warn);
      const file: DataFile = {
        id,
        path: filePath,
        fd: fs.openSync(filePath, isNewest ? "a+" : "r"),
        bytes,
        hint,
      };
      this.files.set(id, file);
      this.totalBytes += bytes;
      if (isNewest) this.active = file;
    }
  }

  /**
   * Applies one file's records to the key directory; returns the file's length once valid, and
   * for the newest file (appends continue there) its hint entries and CRC so far. The prefix a
   * matching hint covers is applied from the hint; the rest is checked record by record.
   */
  private replayFile(
    id: number,
    filePath: string,
    isNewest: boolean,
    repair: boolean,
    warn: (message: string) => void,
  ): { bytes: number; hint: DataFile["hint"] } {
    const bytes = fs.readFileSync(filePath);
    const builder = isNewest ? new HintBuilder() : undefined;
    let offset = 0;
    let dataCrc = 0;
    const hint = readHint(filePath, bytes);
    if (hint !== undefined) {
      hint.forEach((key, recordOffset, recordBytes, kind) => {
        if (kind === "put") this.applyPut(key, id, recordOffset, recordBytes);
        else this.applyDeletion(key);
      });
      builder?.addEntries(hint.entries, hint.entryCount);
      offset = hint.dataBytes;
      dataCrc = hint.dataCrc;
    }
    const validBytes = this.replayRecords(
      bytes,
      offset,
      id,
      filePath,
      isNewest,
      repair,
      warn,
      builder,
    );
    if (!isNewest) return { bytes: validBytes, hint: undefined };
    dataCrc = continueChecksum(bytes.subarray(offset, validBytes), dataCrc);
    return { bytes: validBytes, hint: { builder: builder!, dataCrc } };
  }

  /** Checks and applies the records of `bytes` from `offset`; returns where valid data ends. */
  private replayRecords(
    bytes: Buffer,
    start: number,
    id: number,
    filePath: string,
    isNewest: boolean,
    repair: boolean,
    warn: (message: string) => void,
    builder: HintBuilder | undefined,
  ): number {
    let offset = start;
    while (offset < bytes.length) {
      const check = checkRecordAt(bytes, offset, bytes.length, checksum);
      if (check.ok) {
        const key = decodeKey(bytes, offset, check.header);
        const recordBytes = check.header.recordBytes;
        if (check.header.kind === "put") this.applyPut(key, id, offset, recordBytes);
        else this.applyDeletion(key);
        builder?.addRecord(bytes, offset, offset, recordBytes);
        offset += recordBytes;
        continue;
      }
      const droppedBytes = bytes.length - offset;
      const isTornTail = isNewest && findValidRecordAfter(bytes, offset) === undefined;
      if (isTornTail) {
        truncateFile(filePath, offset);
        warn(
          `Truncated torn tail of data file ${filePath} at byte ${offset} (${droppedBytes} bytes: ${check.reason})`,
        );
      } else if (repair) {
        truncateFile(filePath, offset);
        warn(
          `Repaired data file ${filePath}: truncated at byte ${offset}, ${droppedBytes} bytes dropped (${check.reason})`,
        );
      } else {
        throw new StoreError(
          `Corrupt data file ${filePath} at byte ${offset}: ${check.reason}; move it aside or run with repair to truncate`,
        );
      }
      return offset;
    }
    return bytes.length;
  }

  // ---- writing -----------------------------------------------------------------------------

  private writeRecord(key: string, record: Uint8Array, kind: "put" | "deletion"): void {
    if (this.failure !== undefined) {
      throw new StoreError(
        `The store in ${this.folder} stopped after a failed fsync: ${this.failure.message}`,
      );
    }
    const { fileId, offset } = this.append(record);
    if (kind === "put") this.applyPut(key, fileId, offset, record.length);
    else this.applyDeletion(key);
    this.syncAfterWrite();
  }

  /** Points `key` at the put record at (fileId, offset), under a new revision. */
  private applyPut(key: string, fileId: number, offset: number, recordBytes: number): void {
    const previous = this.keyDirectory.get(key);
    if (previous !== undefined) this.liveBytes -= previous.recordBytes;
    this.keyDirectory.set(key, { fileId, offset, recordBytes, revision: nextRevision++ });
    this.liveBytes += recordBytes;
  }

  private applyDeletion(key: string): void {
    const previous = this.keyDirectory.get(key);
    if (previous !== undefined) this.liveBytes -= previous.recordBytes;
    this.keyDirectory.delete(key);
  }

  private append(record: Uint8Array): { fileId: number; offset: number } {
    let active = this.active;
    if (
      active === undefined ||
      (active.bytes > 0 && active.bytes + record.length > this.fileBytesMax)
    ) {
      active = this.rotate();
    }
    const offset = active.bytes;
    try {
      writeAll(active.fd, record);
    } catch (error) {
      // A half-written record (disk full) followed by later records would read as corruption
      // on the next open: cut it off now, while we still know where it starts.
      fs.ftruncateSync(active.fd, offset);
      throw error;
    }
    if (active.hint !== undefined) {
      active.hint.builder.addRecord(record, 0, offset, record.length);
      active.hint.dataCrc = continueChecksum(record, active.hint.dataCrc);
    }
    active.bytes += record.length;
    this.totalBytes += record.length;
    this.dirty = true;
    this.written += 1;
    return { fileId: active.id, offset };
  }

  /** Starts a new active file. The previous one is fsynced first, whatever the policy, so only
   * the newest file can ever have a torn tail: recovery relies on that. */
  private rotate(): DataFile {
    this.syncActive();
    if (this.active !== undefined) writeHint(this.active);
    const id = this.maxFileId() + 1;
    const filePath = path.join(this.folder, dataFileName(id));
    const file: DataFile = {
      id,
      path: filePath,
      fd: fs.openSync(filePath, "ax+"),
      bytes: 0,
      hint: { builder: new HintBuilder(), dataCrc: 0 },
    };
    fsyncFolder(this.folder);
    this.files.set(id, file);
    this.active = file;
    return file;
  }

  private syncAfterWrite(): void {
    switch (this.syncPolicy.kind) {
      case "always":
        if (!this.groupCommit) this.syncActive();
        return;
      case "interval":
        if (this.now() - this.lastSyncMs >= this.syncPolicy.intervalMs) this.startIntervalSync();
        return;
      case "never":
        return;
    }
  }

  /** fsync on the event loop: for rotation, merge, close and sync(), which must be done when
   * they return. Everything written so far is then on disk. */
  private syncActive(): void {
    // An fsync still in flight off the loop proves nothing yet: sync again here.
    const unsynced = this.dirty || this.syncingFd !== undefined;
    if (unsynced && this.active !== undefined) fs.fsyncSync(this.active.fd);
    this.dirty = false;
    this.lastSyncMs = this.now();
    this.committed = this.written;
  }

  /** Group commit: one fs.fsync for every waiter so far, off the event loop. Writes made while
   * it runs are not covered (their sequence is above `target`): they wait for the next one. */
  private startGroupSync(): void {
    if (this.syncingFd !== undefined || this.commitWaiters.length === 0) return;
    const active = this.active;
    assert(active !== undefined, "a write that waits for commit has a file");
    const target = this.written;
    this.syncOffLoop(active.fd, (error) => {
      if (error !== null) {
        this.failure ??= error;
      } else {
        this.committed = Math.max(this.committed, target);
      }
      this.releaseCommitWaiters();
      if (!this.closed) this.startGroupSync();
    });
  }

  /** Under `interval`: the periodic fsync, off the event loop. A failure ends the process (see
   * startSyncTimer for why). */
  private startIntervalSync(): void {
    const active = this.active;
    if (this.syncingFd !== undefined || !this.dirty || active === undefined) return;
    this.syncOffLoop(active.fd, (error) => {
      if (error !== null) throw error;
    });
  }

  /** One fsync of `fd` on libuv's threads, the only one in flight; `done` runs after it. */
  private syncOffLoop(fd: number, done: (error: NodeJS.ErrnoException | null) => void): void {
    this.syncingFd = fd;
    this.dirty = false;
    this.lastSyncMs = this.now();
    fs.fsync(fd, (error) => {
      this.finishSync(fd);
      done(error);
    });
  }

  private finishSync(fd: number): void {
    this.syncingFd = undefined;
    if (this.closeAfterSync.delete(fd)) closeQuietly(fd);
  }

  private releaseCommitWaiters(): void {
    let released = 0;
    for (const waiter of this.commitWaiters) {
      if (this.failure === undefined && waiter.sequence > this.committed) break;
      released += 1;
    }
    const ready = this.commitWaiters.splice(0, released);
    for (const waiter of ready) waiter.done(this.failure);
  }

  /** Closes a data file's fd now, or once the fsync running on it completes. */
  private closeFile(fd: number): void {
    if (fd === this.syncingFd) this.closeAfterSync.add(fd);
    else fs.closeSync(fd);
  }

  /** Under `interval`, writes followed by silence still reach disk within about intervalMs.
   * unref: a pending sync must not keep a finished process alive. An fsync that fails here
   * throws out of the timer and ends the process, which is right: after a failed fsync the
   * kernel may have dropped the pages, and carrying on would acknowledge lost writes. */
  private startSyncTimer(): void {
    if (this.syncPolicy.kind !== "interval") return;
    const intervalMs = this.syncPolicy.intervalMs;
    this.timer = setInterval(() => {
      if (this.dirty && this.now() - this.lastSyncMs >= intervalMs) this.startIntervalSync();
    }, intervalMs);
    this.timer.unref();
  }

  // ---- merging -----------------------------------------------------------------------------

  private writeMergeTemporaries(firstOutputId: number): {
    outputs: { temporaryPath: string; file: DataFile }[];
    keyDirectory: Map<string, KeyDirectoryEntry>;
  } {
    const outputs: { temporaryPath: string; file: DataFile }[] = [];
    const keyDirectory = new Map<string, KeyDirectoryEntry>();
    // Read in file order, so the old files are read front to back.
    const entries = [...this.keyDirectory.entries()].sort(
      ([, left], [, right]) => left.fileId - right.fileId || left.offset - right.offset,
    );
    let current: { temporaryPath: string; file: DataFile } | undefined;
    try {
      for (const [key, entry] of entries) {
        const record = this.readRecord(entry).bytes;
        if (current === undefined || current.file.bytes + record.length > this.fileBytesMax) {
          if (current !== undefined) finishMergeOutput(current.file);
          const id = firstOutputId + outputs.length;
          const filePath = path.join(this.folder, dataFileName(id));
          const temporaryPath = filePath + mergeTemporarySuffix;
          current = {
            temporaryPath,
            file: {
              id,
              path: filePath,
              fd: fs.openSync(temporaryPath, "wx"),
              bytes: 0,
              hint: { builder: new HintBuilder(), dataCrc: 0 },
            },
          };
          outputs.push(current);
        }
        writeAll(current.file.fd, record);
        const hint = current.file.hint!;
        hint.builder.addRecord(record, 0, current.file.bytes, record.length);
        hint.dataCrc = continueChecksum(record, hint.dataCrc);
        // A new revision although the value is the same: the record moved, and a revision
        // names a record, so a reader that kept the old one reads the moved one once.
        keyDirectory.set(key, {
          fileId: current.file.id,
          offset: current.file.bytes,
          recordBytes: record.length,
          revision: nextRevision++,
        });
        current.file.bytes += record.length;
      }
      if (current !== undefined) finishMergeOutput(current.file);
    } catch (error) {
      // Nothing is visible yet: remove the partial output and leave the store as it was.
      for (const output of outputs) {
        if (output === current) closeQuietly(output.file.fd);
        fs.rmSync(output.temporaryPath, { force: true });
      }
      throw error;
    }
    return { outputs, keyDirectory };
  }

  private injectMergeFault(point: MergeFault): void {
    if (this.mergeFault === point) throw new Error(`injected merge fault: ${point}`);
  }

  // ---- reading -----------------------------------------------------------------------------

  /** The whole record an entry points at, CRC checked: a flipped bit on disk is reported,
   * never returned as a value. */
  private readRecord(entry: KeyDirectoryEntry): { bytes: Uint8Array; header: RecordHeader } {
    const file = this.files.get(entry.fileId);
    assert(file !== undefined, "every key directory entry points at an open file");
    const bytes = Buffer.allocUnsafe(entry.recordBytes);
    let read = 0;
    while (read < bytes.length) {
      const count = fs.readSync(file.fd, bytes, read, bytes.length - read, entry.offset + read);
      if (count === 0) break;
      read += count;
    }
    const check =
      read === bytes.length ? checkRecordAt(bytes, 0, bytes.length, checksum) : undefined;
    if (check?.ok && check.header.recordBytes === entry.recordBytes) {
      return { bytes, header: check.header };
    }
    const reason =
      check === undefined
        ? "the file ends early"
        : check.ok
          ? "the record length changed"
          : check.reason;
    throw new StoreError(
      `Corrupt data file ${file.path} at byte ${entry.offset}: ${reason}; move it aside or run with repair to truncate`,
    );
  }

  // ---- housekeeping ------------------------------------------------------------------------

  private maxFileId(): number {
    let max = 0;
    for (const id of this.files.keys()) max = Math.max(max, id);
    return max;
  }

  private closeFiles(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    for (const file of this.files.values()) {
      if (file.fd === this.syncingFd) this.closeAfterSync.add(file.fd);
      else closeQuietly(file.fd);
    }
    this.files.clear();
    this.active = undefined;
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreError(`The store in ${this.folder} is closed`);
  }
}

/** Opens a Bitcask store; the same as BitcaskStore.open. */
export function openBitcask(options: BitcaskOptions): BitcaskStore {
  return BitcaskStore.open(options);
}

export function dataFileName(id: number): string {
  return `${String(id).padStart(6, "0")}.data`;
}

/**
 * The offset of the first valid record strictly after `offset`, or undefined. Record boundaries
 * after a damaged record are unknown (its length may be the damaged part), so every byte is a
 * candidate; a cheap test on the flags byte skips most of them before any CRC is computed.
 */
export function findValidRecordAfter(bytes: Uint8Array, offset: number): number | undefined {
  for (let candidate = offset + 1; candidate + recordHeaderBytes <= bytes.length; candidate++) {
    const flags = bytes[candidate + 4];
    if (flags !== 0 && flags !== 1) continue;
    if (checkRecordAt(bytes, candidate, bytes.length, checksum).ok) return candidate;
  }
  return undefined;
}

function prepareFolder(folder: string): string {
  if (typeof folder !== "string" || folder === "") {
    throw new TypeError(
      `Expected \`folder\` to be a non-empty path, got ${JSON.stringify(folder)}`,
    );
  }
  try {
    const stat = fs.statSync(folder, { throwIfNoEntry: false });
    if (stat !== undefined && !stat.isDirectory()) {
      throw new StoreError(`Cannot use data folder ${folder}: it is a file, not a folder`);
    }
    fs.mkdirSync(folder, { recursive: true });
    fs.accessSync(folder, fs.constants.R_OK | fs.constants.W_OK | fs.constants.X_OK);
    return fs.realpathSync(folder);
  } catch (error) {
    if (error instanceof StoreError) throw error;
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    const why =
      code === "EACCES" || code === "EPERM"
        ? "it is not writable"
        : code === "ENOTDIR" || code === "EEXIST"
          ? "a part of its path is a file"
          : "the file system refused";
    throw new StoreError(`Cannot use data folder ${folder}: ${why} (${code})`);
  }
}

/**
 * The lock has two halves. Across processes: a LOCK file holding the owner's process id; a lock
 * whose process is gone (kill -9 leaves one behind) is stale and taken over. Within this
 * process: a set of open folders, because our own process id in LOCK only says "this process",
 * not "a store that is still open". (A process id reused by an unrelated process makes a stale
 * lock look held; the message names the process so a person can check.)
 */
function acquireLock(folder: string, realFolder: string, warn: (message: string) => void): void {
  const lockPath = path.join(folder, lockFileName);
  const attemptsMax = 3;
  for (let attempt = 0; attempt < attemptsMax; attempt++) {
    try {
      fs.writeFileSync(lockPath, `${process.pid}\n`, { flag: "wx" });
      foldersOpenInThisProcess.add(realFolder);
      return;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== "EEXIST")
        throw new StoreError(`Cannot create lock file ${lockPath}: ${code ?? String(error)}`);
    }
    const holder = readLockHolder(lockPath);
    const held =
      holder !== undefined &&
      (holder === process.pid ? foldersOpenInThisProcess.has(realFolder) : isProcessAlive(holder));
    if (held) throw new StoreError(`data folder ${folder} is in use by process ${holder}`);
    fs.rmSync(lockPath, { force: true });
    const why =
      holder === undefined
        ? "it names no process"
        : holder === process.pid
          ? "no store in this process holds it"
          : `process ${holder} is gone`;
    warn(`Removed stale lock file ${lockPath} (${why})`);
  }
  throw new StoreError(`Cannot lock data folder ${folder}: the lock file keeps changing hands`);
}

function releaseLock(folder: string, realFolder: string): void {
  foldersOpenInThisProcess.delete(realFolder);
  const lockPath = path.join(folder, lockFileName);
  if (readLockHolder(lockPath) === process.pid) fs.rmSync(lockPath, { force: true });
}

function readLockHolder(lockPath: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(lockPath, "utf8").trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let written = 0;
  while (written < bytes.length)
    written += fs.writeSync(fd, bytes, written, bytes.length - written);
}

/** CRC-32 of `bytes` continued from `previous` (the CRC of what came before them). */
function continueChecksum(bytes: Uint8Array, previous: number): number {
  return zlib.crc32(bytes, previous);
}

function hintPathOf(dataPath: string): string {
  return dataPath.replace(/\.data$/, ".hint");
}

/** Writes the hint of `file` (its entries so far), replacing any older one. Not fsynced: the
 * CRCs make a lost, torn or stale hint harmless, and fsyncs are what writes wait for. */
function writeHint(file: DataFile): void {
  if (file.hint === undefined) return;
  const hintPath = hintPathOf(file.path);
  const temporaryPath = hintPath + hintTemporarySuffix;
  const bytes = file.hint.builder.encode(file.bytes, file.hint.dataCrc, checksum);
  try {
    fs.writeFileSync(temporaryPath, bytes);
    fs.renameSync(temporaryPath, hintPath);
  } catch {
    // No hint (a full disk, say): the next open replays this file record by record instead.
    fs.rmSync(temporaryPath, { force: true });
  }
}

/** The hint next to `dataPath` if it is intact and describes a prefix of `bytes` exactly. */
function readHint(dataPath: string, bytes: Buffer): ReturnType<typeof decodeHint> {
  let hintBytes: Buffer;
  try {
    hintBytes = fs.readFileSync(hintPathOf(dataPath));
  } catch {
    return undefined;
  }
  const hint = decodeHint(hintBytes, checksum);
  if (hint === undefined || hint.dataBytes > bytes.length) return undefined;
  if (continueChecksum(bytes.subarray(0, hint.dataBytes), 0) !== hint.dataCrc) return undefined;
  return hint;
}

function finishMergeOutput(file: DataFile): void {
  fs.fsyncSync(file.fd);
  fs.closeSync(file.fd);
}

function truncateFile(filePath: string, bytes: number): void {
  const fd = fs.openSync(filePath, "r+");
  try {
    fs.ftruncateSync(fd, bytes);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** A new, renamed or deleted file name is durable only once its folder is fsynced. */
function fsyncFolder(folder: string): void {
  const fd = fs.openSync(folder, "r");
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function closeQuietly(fd: number): void {
  try {
    fs.closeSync(fd);
  } catch {
    // Already closed: closing is the goal either way.
  }
}

function assert(condition: boolean, invariant: string): asserts condition {
  if (!condition) throw new Error(`Invariant broken: ${invariant}`);
}
