// Tests for what only the real Bitcask store has (lesson 5, "systems that never stop"): files,
// torn tails, flipped bytes, the lock file, rotation, fsync calls and merges cut short by a crash.
// The behaviour both implementations share is in store.test.ts.

import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { BitcaskStore, findValidRecordAfter } from "./bitcask.ts";
import type { BitcaskOptions, MergeFault } from "./bitcask.ts";
import { HintBuilder } from "./hint.ts";
import { encodeRecord, putRecordBytes, recordHeaderBytes } from "./record.ts";
import { StoreError } from "./store.ts";

let folder: string;
let opened: BitcaskStore[];
let warnings: string[];

beforeEach(() => {
  folder = fs.mkdtempSync(path.join(os.tmpdir(), "neverstop-bitcask-"));
  opened = [];
  warnings = [];
});

afterEach(() => {
  vi.restoreAllMocks();
  for (const store of opened) store.close();
  fs.rmSync(folder, { recursive: true, force: true });
});

function open(options: Partial<BitcaskOptions> = {}): BitcaskStore {
  const store = BitcaskStore.open({
    folder,
    onWarning: (message) => warnings.push(message),
    ...options,
  });
  opened.push(store);
  return store;
}

function dataFiles(): string[] {
  return fs
    .readdirSync(folder)
    .filter((name) => name.endsWith(".data"))
    .sort()
    .map((name) => path.join(folder, name));
}

/** Writes key-0..key-(count-1) into one data file and closes; returns each record's offset. */
function writeRecords(count: number): number[] {
  const store = open();
  const offsets: number[] = [];
  let offset = 0;
  for (let index = 0; index < count; index++) {
    offsets.push(offset);
    store.put(`key-${index}`, `value-${index}`);
    offset += putRecordBytes(`key-${index}`, `value-${index}`);
  }
  store.close();
  return offsets;
}

const zlibChecksum = (bytes: Uint8Array, start: number, end: number) =>
  zlib.crc32(bytes.subarray(start, end));

function flipByte(filePath: string, offset: number): void {
  const bytes = fs.readFileSync(filePath);
  bytes[offset] = bytes[offset]! ^ 0xff;
  fs.writeFileSync(filePath, bytes);
}

describe("the data folder", () => {
  it("is created when missing, parents included", () => {
    const nested = path.join(folder, "n1", "data");
    const store = open({ folder: nested });
    store.put("k", "v");
    expect(fs.statSync(nested).isDirectory()).toBe(true);
  });

  it("is refused when it is a file", () => {
    const file = path.join(folder, "not-a-folder");
    fs.writeFileSync(file, "x");
    expect(() => open({ folder: file })).toThrow(
      new StoreError(`Cannot use data folder ${file}: it is a file, not a folder`),
    );
  });

  it("is refused when part of its path is a file", () => {
    const file = path.join(folder, "file");
    fs.writeFileSync(file, "x");
    expect(() => open({ folder: path.join(file, "data") })).toThrow(
      /a part of its path is a file \(ENOTDIR\)/,
    );
  });

  it.skipIf(process.getuid?.() === 0)("is refused when it is not writable", () => {
    const readOnly = path.join(folder, "read-only");
    fs.mkdirSync(readOnly, { mode: 0o500 });
    expect(() => open({ folder: readOnly })).toThrow(/it is not writable/);
  });

  it("ignores and removes unfinished merge output", () => {
    writeRecords(3);
    const leftover = path.join(folder, "000009.data.merging");
    fs.writeFileSync(leftover, encodeRecord("key-0", "from an unfinished merge"));
    const store = open();
    expect(store.get("key-0")).toBe("value-0");
    expect(fs.existsSync(leftover)).toBe(false);
    expect(warnings).toHaveLength(1);
  });
});

describe("the lock file", () => {
  it("keeps a second store out while the first is open, naming the process", () => {
    const store = open();
    expect(() => open()).toThrow(
      new StoreError(`data folder ${folder} is in use by process ${process.pid}`),
    );
    store.close();
    expect(fs.existsSync(path.join(folder, "LOCK"))).toBe(false);
    open().put("k", "v");
  });

  it("keeps a store out while another live process holds the folder", () => {
    fs.writeFileSync(path.join(folder, "LOCK"), `${process.ppid}\n`);
    expect(() => open()).toThrow(`is in use by process ${process.ppid}`);
  });

  it("is taken over when the process that held it is gone (kill -9 leaves it behind)", () => {
    const child = spawnSync(process.execPath, ["-e", ""]);
    expect(child.status).toBe(0);
    fs.writeFileSync(path.join(folder, "LOCK"), `${child.pid}\n`);
    const store = open();
    store.put("k", "v");
    expect(fs.readFileSync(path.join(folder, "LOCK"), "utf8")).toBe(`${process.pid}\n`);
    expect(warnings).toEqual([expect.stringContaining(`process ${child.pid} is gone`)]);
  });
});

describe("recovery", () => {
  it("truncates a torn tail, keeps every earlier record, and writes on after it", () => {
    const offsets = writeRecords(10);
    const [file] = dataFiles();
    const size = fs.statSync(file!).size;
    fs.truncateSync(file!, size - 3);

    const store = open();
    expect(warnings).toHaveLength(1);
    expect(fs.statSync(file!).size).toBe(offsets[9]);
    expect(store.keys()).toHaveLength(9);
    expect(store.get("key-8")).toBe("value-8");
    expect(store.get("key-9")).toBeUndefined();
    store.put("after", "the tear");
    store.close();

    const reopened = open();
    expect(reopened.get("after")).toBe("the tear");
    expect(reopened.keys()).toHaveLength(10);
    expect(warnings).toHaveLength(1);
  });

  it("truncates a tail that is only part of a header", () => {
    writeRecords(5);
    const [file] = dataFiles();
    const size = fs.statSync(file!).size;
    fs.appendFileSync(file!, new Uint8Array([0xde, 0xad, 0xbe, 0xef, 0x00]));
    const store = open();
    expect(store.keys()).toHaveLength(5);
    expect(fs.statSync(file!).size).toBe(size);
  });

  it("treats a bad CRC in the last record as a torn tail", () => {
    const offsets = writeRecords(6);
    const [file] = dataFiles();
    flipByte(file!, fs.statSync(file!).size - 1);
    const store = open();
    expect(store.keys()).toHaveLength(5);
    expect(fs.statSync(file!).size).toBe(offsets[5]);
  });

  it("refuses a flipped byte with valid records after it, naming file and byte", () => {
    const offsets = writeRecords(10);
    const [file] = dataFiles();
    flipByte(file!, offsets[4]! + recordHeaderBytes + 2);
    let error: unknown;
    try {
      open();
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(StoreError);
    expect((error as Error).message).toMatch(
      new RegExp(
        `^Corrupt data file ${escapeRegExp(file!)} at byte ${offsets[4]}: CRC mismatch \\(expected 0x[0-9a-f]{8}, got 0x[0-9a-f]{8}\\); move it aside or run with repair to truncate$`,
      ),
    );
    // Refusing must not have changed the file or left the folder locked.
    expect(fs.statSync(file!).size).toBe(offsets[9]! + putRecordBytes("key-9", "value-9"));
    expect(fs.existsSync(path.join(folder, "LOCK"))).toBe(false);
  });

  it("refuses a damaged length in the middle (the record seems to run past the end)", () => {
    const offsets = writeRecords(10);
    const [file] = dataFiles();
    flipByte(file!, offsets[3]! + 9); // the high byte of valueLength
    expect(() => open()).toThrow(new RegExp(`at byte ${offsets[3]}: value length`));
  });

  it("with repair, truncates at the bad record and opens", () => {
    const offsets = writeRecords(10);
    const [file] = dataFiles();
    flipByte(file!, offsets[4]! + recordHeaderBytes + 2);
    const store = open({ repair: true });
    expect(store.keys().sort()).toEqual(["key-0", "key-1", "key-2", "key-3"]);
    expect(fs.statSync(file!).size).toBe(offsets[4]);
    expect(warnings).toEqual([expect.stringMatching(/^Repaired data file .* at byte \d+/)]);
  });

  it("refuses damage at the end of a file that is not the newest", () => {
    const store = open({ fileBytesMax: 64 });
    for (let index = 0; index < 6; index++) store.put(`key-${index}`, `value-${index}`);
    store.close();
    const files = dataFiles();
    expect(files.length).toBeGreaterThan(2);
    flipByte(files[0]!, fs.statSync(files[0]!).size - 1);
    expect(() => open({ fileBytesMax: 64 })).toThrow(
      new RegExp(`${escapeRegExp(files[0]!)} at byte`),
    );
  });

  it("reports a record damaged after open when it is read, never a wrong value", () => {
    const offsets = writeRecords(3);
    const store = open();
    flipByte(dataFiles()[0]!, offsets[1]! + recordHeaderBytes + 1);
    expect(store.get("key-0")).toBe("value-0");
    expect(() => store.get("key-1")).toThrow(new RegExp(`at byte ${offsets[1]}: CRC mismatch`));
  });

  it("finds the next valid record after damage, and none after a torn tail", () => {
    const first = encodeRecord("a", "1");
    const second = encodeRecord("b", "2");
    const bytes = new Uint8Array([...first, ...second]);
    bytes[3] = bytes[3]! ^ 1;
    expect(findValidRecordAfter(bytes, 0)).toBe(first.length);
    expect(findValidRecordAfter(bytes.subarray(0, bytes.length - 1), 0)).toBeUndefined();
  });
});

describe("data files", () => {
  it("rotate before a file would grow past fileBytesMax", () => {
    const store = open({ fileBytesMax: 100 });
    for (let index = 0; index < 20; index++) store.put(`key-${index}`, `value-${index}`);
    const big = "x".repeat(300);
    store.put("big", big);
    store.close();
    const sizes = dataFiles().map((file) => fs.statSync(file).size);
    expect(sizes.length).toBeGreaterThanOrEqual(7);
    expect(sizes.filter((size) => size > 100)).toEqual([putRecordBytes("big", big)]);
    const reopened = open({ fileBytesMax: 100 });
    expect(reopened.keys()).toHaveLength(21);
    expect(reopened.get("big")).toBe(big);
    expect(reopened.get("key-0")).toBe("value-0");
  });

  it("after a merge hold only live records, in new files", () => {
    const store = open({ fileBytesMax: 128 });
    for (let round = 0; round < 10; round++) {
      for (let index = 0; index < 5; index++) store.put(`key-${index}`, `value-${round}`);
    }
    store.delete("key-4");
    const filesBefore = dataFiles();
    const before = store.stats();
    store.merge();
    const after = store.stats();
    expect(after.totalBytes).toBe(4 * putRecordBytes("key-0", "value-9"));
    expect(after.totalBytes).toBeLessThan(before.totalBytes);
    const filesAfter = dataFiles();
    expect(filesAfter.filter((file) => filesBefore.includes(file))).toEqual([]);
    expect(filesAfter.reduce((sum, file) => sum + fs.statSync(file).size, 0)).toBe(
      after.totalBytes,
    );
    store.close();
    const reopened = open({ fileBytesMax: 128 });
    expect(reopened.stats().totalBytes).toBe(after.totalBytes);
    expect(reopened.get("key-4")).toBeUndefined();
    expect(reopened.get("key-3")).toBe("value-9");
  });
});

describe("hint files", () => {
  function hintFiles(): string[] {
    return fs
      .readdirSync(folder)
      .filter((name) => name.endsWith(".hint"))
      .sort()
      .map((name) => path.join(folder, name));
  }

  function contents(store: BitcaskStore): Map<string, string | undefined> {
    return new Map(
      store
        .keys()
        .sort()
        .map((key) => [key, store.get(key)]),
    );
  }

  function fill(store: BitcaskStore): void {
    for (let index = 0; index < 60; index++) store.put(`key-${index % 13}`, `value-${index}`);
    store.delete("key-3");
  }

  it("are written at rotation and close, and rebuild the same key directory as a full replay", () => {
    const store = open({ fileBytesMax: 128 });
    fill(store);
    const expected = contents(store);
    const statsBefore = store.stats();
    store.close();
    expect(hintFiles().map((file) => path.basename(file, ".hint"))).toEqual(
      dataFiles().map((file) => path.basename(file, ".data")),
    );
    const fromHints = open({ fileBytesMax: 128 });
    expect(contents(fromHints)).toEqual(expected);
    expect(fromHints.stats()).toEqual(statsBefore);
    fromHints.put("after", "reopen"); // appends continue the newest file and its hint
    fromHints.close();
    for (const file of hintFiles()) fs.rmSync(file);
    const replayed = open({ fileBytesMax: 128 });
    expect(contents(replayed)).toEqual(new Map([...expected, ["after", "reopen"]]));
    replayed.close();
    expect(warnings).toEqual([]);
  });

  it("are what open trusts for the prefix they cover", () => {
    const store = open();
    store.put("a", "1");
    store.put("b", "2");
    store.close();
    // A hint listing only `a`, made for the very bytes of the data file: open follows it.
    const data = fs.readFileSync(dataFiles()[0]!);
    const builder = new HintBuilder();
    builder.addRecord(data, 0, 0, putRecordBytes("a", "1"));
    fs.writeFileSync(hintFiles()[0]!, builder.encode(data.length, zlib.crc32(data), zlibChecksum));
    expect(open().keys()).toEqual(["a"]);
  });

  it("are ignored when damaged or when the data file changed, and the file is replayed", () => {
    const store = open({ fileBytesMax: 128 });
    fill(store);
    const expected = contents(store);
    store.close();
    const [firstHint, secondHint] = hintFiles();
    flipByte(firstHint!, 0); // a damaged hint
    fs.writeFileSync(secondHint!, fs.readFileSync(secondHint!).subarray(0, 20)); // a torn hint
    const reopened = open({ fileBytesMax: 128 });
    expect(contents(reopened)).toEqual(expected);
    reopened.close();
    // A data byte flipped under a valid hint: the data CRC differs, so the replay finds it.
    const data = dataFiles()[1]!;
    flipByte(data, fs.statSync(data).size - 1);
    expect(() => open({ fileBytesMax: 128 })).toThrow(new RegExp(`${escapeRegExp(data)} at byte`));
  });

  it("are removed with their data file by a merge, and written for its output", () => {
    const store = open({ fileBytesMax: 128 });
    fill(store);
    const expected = contents(store);
    store.merge();
    store.close();
    expect(hintFiles().map((file) => path.basename(file, ".hint"))).toEqual(
      dataFiles().map((file) => path.basename(file, ".data")),
    );
    expect(contents(open({ fileBytesMax: 128 }))).toEqual(expected);
  });
});

describe("a merge cut short by a crash", () => {
  const faults: MergeFault[] = ["after-temporaries", "after-renames", "after-first-deletion"];

  it.each(faults)("loses nothing and resurrects nothing when stopped %s", (fault) => {
    const store = open({ fileBytesMax: 128, mergeFault: fault });
    store.put("ghost", "deleted before the merge");
    const expected = new Map<string, string>();
    for (let index = 0; index < 40; index++) {
      const key = `key-${index % 8}`;
      store.put(key, `value-${index}`);
      expected.set(key, `value-${index}`);
    }
    store.delete("key-0");
    expected.delete("key-0");
    store.delete("ghost"); // the deletion record is in the newest old file
    expect(() => store.merge()).toThrow(`injected merge fault: ${fault}`);
    store.crashForTesting();

    const reopened = open({ fileBytesMax: 128 });
    expect(new Map(reopened.keys().map((key) => [key, reopened.get(key)]))).toEqual(expected);
    expect(fs.readdirSync(folder).filter((name) => name.endsWith(".merging"))).toEqual([]);
    reopened.merge();
    reopened.close();
    const merged = open({ fileBytesMax: 128 });
    expect(new Map(merged.keys().map((key) => [key, merged.get(key)]))).toEqual(expected);
    expect(merged.stats().totalBytes).toBe(merged.stats().liveBytes);
  });
});

describe("sync policies", () => {
  it("always: one fsync per put before it returns; never: none", () => {
    const fsync = vi.spyOn(fs, "fsyncSync");
    const always = open({ syncPolicy: { kind: "always" } });
    always.put("a", "1"); // the first put also creates the file and fsyncs the folder
    fsync.mockClear();
    always.put("b", "2");
    always.delete("a");
    expect(fsync).toHaveBeenCalledTimes(2);
    always.close();

    const never = open({ syncPolicy: { kind: "never" } });
    fsync.mockClear();
    for (let index = 0; index < 10; index++) never.put(`key-${index}`, "v");
    expect(fsync).not.toHaveBeenCalled();
    never.sync();
    expect(fsync).toHaveBeenCalledTimes(1);
  });

  it("interval: fsyncs on the write path once intervalMs has passed since the last sync", () => {
    let nowMs = 0;
    // Off the event loop (fs.fsync): the periodic sync must not stall every request behind it.
    const fsync = vi.spyOn(fs, "fsync");
    const store = open({ syncPolicy: { kind: "interval", intervalMs: 100 }, now: () => nowMs });
    store.put("a", "1");
    fsync.mockClear();
    nowMs = 50;
    store.put("b", "2");
    expect(fsync).not.toHaveBeenCalled();
    nowMs = 100;
    store.put("c", "3");
    expect(fsync).toHaveBeenCalledTimes(1);
    nowMs = 150;
    store.put("d", "4");
    expect(fsync).toHaveBeenCalledTimes(1);
  });

  it("interval: a timer syncs writes followed by silence", async () => {
    let nowMs = 0;
    const fsync = vi.spyOn(fs, "fsync");
    const store = open({ syncPolicy: { kind: "interval", intervalMs: 20 }, now: () => nowMs });
    store.put("a", "1");
    fsync.mockClear();
    store.put("b", "2");
    expect(fsync).not.toHaveBeenCalled();
    nowMs = 20; // no more writes: only the timer can notice that the interval has passed
    await vi.waitFor(() => expect(fsync).toHaveBeenCalledTimes(1), { timeout: 10_000 });
  });

  describe("always with group commit", () => {
    /** Holds every fs.fsync until the test releases it, so the test decides when disks finish. */
    function controlFsync() {
      const pending: ((error: NodeJS.ErrnoException | null) => void)[] = [];
      const spy = vi
        .spyOn(fs, "fsync")
        .mockImplementation(((
          _fd: number,
          callback: (error: NodeJS.ErrnoException | null) => void,
        ) => pending.push(callback)) as unknown as typeof fs.fsync);
      const finishNext = async (error: NodeJS.ErrnoException | null = null) => {
        const callback = pending.shift();
        expect(callback).toBeDefined();
        callback!(error);
        await settle();
      };
      return { spy, pending, finishNext };
    }
    const settle = () => new Promise((resolve) => setImmediate(resolve));

    it("acknowledges no write before the fsync that covers it, and writes that arrive meanwhile share the next", async () => {
      const disk = controlFsync();
      const fsyncSync = vi.spyOn(fs, "fsyncSync");
      const store = open({ syncPolicy: { kind: "always" }, groupCommit: true });
      const acknowledged: string[] = [];
      const write = (key: string) => {
        store.put(key, "v");
        store.afterCommit((error) => {
          expect(error).toBeUndefined();
          acknowledged.push(key);
        });
      };
      write("a");
      fsyncSync.mockClear(); // the first put creates the file and fsyncs the folder
      expect(disk.spy).toHaveBeenCalledTimes(1);
      for (const key of ["b", "c", "d"]) write(key);
      await settle();
      expect(acknowledged).toEqual([]);
      expect(store.get("b")).toBe("v"); // the node sees its own writes at once
      expect(disk.spy).toHaveBeenCalledTimes(1); // b, c, d wait for the next fsync
      await disk.finishNext();
      expect(acknowledged).toEqual(["a"]);
      expect(disk.spy).toHaveBeenCalledTimes(2);
      write("e"); // arrives while fsync #2 runs: not covered by it
      await disk.finishNext();
      expect(acknowledged).toEqual(["a", "b", "c", "d"]);
      await disk.finishNext();
      expect(acknowledged).toEqual(["a", "b", "c", "d", "e"]);
      expect(disk.spy).toHaveBeenCalledTimes(3);
      expect(fsyncSync).not.toHaveBeenCalled(); // nothing blocked the event loop
      expect(store.commitSequence).toBe(store.writeSequence);
    });

    it("reports a failed fsync to every waiter and refuses later writes", async () => {
      const disk = controlFsync();
      const store = open({ syncPolicy: { kind: "always" }, groupCommit: true });
      const errors: (Error | undefined)[] = [];
      store.put("a", "1");
      store.afterCommit((error) => errors.push(error));
      store.put("b", "2");
      store.afterCommit((error) => errors.push(error));
      const failure = Object.assign(new Error("EIO: i/o error, fsync"), { code: "EIO" });
      await disk.finishNext(failure);
      expect(errors).toEqual([failure, failure]);
      expect(() => store.put("c", "3")).toThrow(/stopped after a failed fsync: EIO/);
    });

    it("close() syncs, releases every waiter, and closes a file only after its fsync returns", async () => {
      const disk = controlFsync();
      const closeSync = vi.spyOn(fs, "closeSync");
      const store = open({ syncPolicy: { kind: "always" }, groupCommit: true });
      const acknowledged: string[] = [];
      store.put("a", "1");
      store.afterCommit(() => acknowledged.push("a"));
      store.put("b", "2");
      store.afterCommit(() => acknowledged.push("b"));
      closeSync.mockClear();
      store.close();
      await settle();
      expect(acknowledged).toEqual(["a", "b"]);
      const closedBeforeFsync = closeSync.mock.calls.length;
      await disk.finishNext();
      expect(closeSync.mock.calls.length).toBe(closedBeforeFsync + 1);
    });

    it("calls back at once, never synchronously, when nothing waits for a disk", async () => {
      for (const syncPolicy of [
        { kind: "never" },
        { kind: "interval", intervalMs: 100 },
      ] as const) {
        const store = open({ syncPolicy, groupCommit: true });
        store.put("a", "1");
        let called = false;
        store.afterCommit(() => (called = true));
        expect(called).toBe(false);
        await settle();
        expect(called).toBe(true);
        store.close();
      }
    });
  });

  it("refuses bad options with one line", () => {
    expect(() => open({ fileBytesMax: 10 })).toThrow(
      "Expected `fileBytesMax` to be an integer from 64 to 1073741824, got 10",
    );
    expect(() => open({ syncPolicy: { kind: "interval", intervalMs: 0 } })).toThrow(
      "Expected `intervalMs` to be an integer from 1 to 3600000, got 0",
    );
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
