// Lab 01's demonstration (node only): a crash in the critical section, on a real process.
// A child process moves 10 from alice to bob, over and over, and is killed with SIGKILL in the
// middle of its fifth transfer, twice:
//
//   two writes   alice and bob are two files; the kill lands after "alice -= 10" and before
//                "bob += 10": 10 has left the system, for good
//   one record   each transfer is ONE record appended to a log (encodeRecord, scanLog from the
//                file given, the reference by default); the kill tears the fifth record, the
//                scan drops it, and the balances replayed from the log still add up
//
//   node bin/run-ts.js labs/01-crash-in-the-critical-section/two-writes.node.ts [LOG_RECORD_FILE]

import { spawn } from "node:child_process";
import {
  appendFileSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
  readSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { createInterface } from "node:readline";

interface LogModule {
  encodeRecord(payload: string): Uint8Array;
  scanLog(bytes: Uint8Array): { records: string[]; validBytes: number };
}

const here = fileURLToPath(import.meta.url);
const transfersBeforeKill = 5;
const [mode, folder, moduleFile] = process.argv.slice(2);

/** Waits for the parent's go-ahead: the parent kills the process here instead, once. */
function criticalSection(): void {
  writeSync(1, "between\n");
  readSync(0, new Uint8Array(8));
}

async function child(): Promise<void> {
  if (mode === "child-two-writes") {
    for (;;) {
      const alice = Number(readFileSync(join(folder!, "alice"), "utf8"));
      writeFileSync(join(folder!, "alice"), String(alice - 10));
      criticalSection();
      const bob = Number(readFileSync(join(folder!, "bob"), "utf8"));
      writeFileSync(join(folder!, "bob"), String(bob + 10));
    }
  }
  const { encodeRecord } = (await import(pathToFileURL(moduleFile!).href)) as LogModule;
  for (;;) {
    const record = encodeRecord(JSON.stringify({ from: "alice", to: "bob", amount: 10 }));
    const half = Math.floor(record.length / 2);
    appendFileSync(join(folder!, "log"), record.subarray(0, half));
    criticalSection();
    appendFileSync(join(folder!, "log"), record.subarray(half));
  }
}

/** Runs the child in `childMode` and kills it inside its fifth transfer. */
function runAndKill(childMode: string, workFolder: string, logModule: string): Promise<void> {
  return new Promise((done, fail) => {
    const runTs = fileURLToPath(new URL("../../bin/run-ts.js", import.meta.url));
    const writer = spawn(process.execPath, [runTs, here, childMode, workFolder, logModule], {
      stdio: ["pipe", "pipe", "inherit"],
    });
    let transfers = 0;
    createInterface({ input: writer.stdout }).on("line", () => {
      transfers += 1;
      if (transfers === transfersBeforeKill) writer.kill("SIGKILL");
      else writer.stdin.write("go\n");
    });
    writer.stdin.on("error", () => {});
    writer.on("error", fail);
    writer.on("exit", (_, signal) =>
      signal === "SIGKILL" ? done() : fail(new Error("the writer stopped before the kill")),
    );
  });
}

async function parent(): Promise<void> {
  const logModuleFile = resolve(
    mode ?? fileURLToPath(new URL("./solution/log-record.ts", import.meta.url)),
  );
  const work = mkdtempSync(join(tmpdir(), "neverstop-two-writes-"));
  try {
    writeFileSync(join(work, "alice"), "100");
    writeFileSync(join(work, "bob"), "100");
    await runAndKill("child-two-writes", work, logModuleFile);
    const alice = Number(readFileSync(join(work, "alice"), "utf8"));
    const bob = Number(readFileSync(join(work, "bob"), "utf8"));
    console.log(
      `two writes: alice ${alice} + bob ${bob} = ${alice + bob} after kill -9 between the writes${alice + bob === 200 ? "" : ` (${200 - alice - bob} has left the system)`}`,
    );

    writeFileSync(join(work, "log"), "");
    await runAndKill("child-one-record", work, logModuleFile);
    const { scanLog } = (await import(pathToFileURL(logModuleFile).href)) as LogModule;
    const bytes = new Uint8Array(readFileSync(join(work, "log")));
    const { records, validBytes } = scanLog(bytes);
    const moved = records.length * 10;
    console.log(
      `one record: alice ${100 - moved} + bob ${100 + moved} = 200 after kill -9 inside record ${records.length + 1} (${records.length} whole records; ${bytes.length - validBytes} torn bytes dropped)`,
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** A learner's file that throws (the untouched starter) gets one line, not a stack trace. */
function oneLine(error: unknown): string {
  return (error instanceof Error ? `${error.name}: ${error.message}` : String(error)).split(
    "\n",
  )[0]!;
}

try {
  if (mode?.startsWith("child-")) await child();
  else await parent();
} catch (error) {
  process.stderr.write(`two-writes: ${oneLine(error)}\n`);
  process.exitCode = 1;
}
