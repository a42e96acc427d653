// Lab 01's real-process check (node only; it runs by default, because a real kill is the point
// of the lesson): a writer process appends the learner's records with two writes each, and the
// grader kills it with SIGKILL between the two, three times. After each kill the learner's
// scanLog must return every acknowledged record (fsynced, then reported) and nothing torn;
// the grader truncates the log where scanLog says, as the node's store does, and starts the
// next writer, which appends after it.

import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";
import type { Operation } from "../../chaos/harness/history.ts";
import { Random } from "../../cluster/runtime/sim/random.ts";
import { callLearner, type CheckOutcome, type LabCheck } from "../kit/lab.ts";
import { writerPayload, type LogModule } from "./torn-disk.ts";

const runTs = fileURLToPath(new URL("../../bin/run-ts.js", import.meta.url));
const writerScript = fileURLToPath(new URL("./writer.node.ts", import.meta.url));
export const killRounds = 3;
/** A writer that has not reached its kill point by then is stopped and the check fails. */
export const writerTimeoutMs = 30_000;

/** Starts a writer at `first`, lets it acknowledge up to `killAt - 1`, kills it inside the
 * write of `killAt`. Resolves with the acknowledged indexes. */
function writeUntilKilled(learnerFile: string, logFile: string, first: number, killAt: number) {
  return new Promise<number[]>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [runTs, writerScript, learnerFile, logFile, String(first)],
      {
        stdio: ["pipe", "pipe", "pipe"],
      },
    );
    const acked: number[] = [];
    let stderr = "";
    let killed = false;
    const timer = setTimeout(() => child.kill("SIGKILL"), writerTimeoutMs);
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    createInterface({ input: child.stdout }).on("line", (line) => {
      const [word, number] = line.split(" ");
      const index = Number(number);
      if (word === "ack") acked.push(index);
      if (word !== "half") return;
      if (index === killAt) {
        killed = child.kill("SIGKILL"); // in the critical section: half the record is written
      } else child.stdin.write("go\n");
    });
    child.stdin.on("error", () => {}); // the writer may be gone when we answer
    child.on("error", reject);
    child.on("exit", () => {
      clearTimeout(timer);
      if (killed) resolve(acked);
      else
        reject(
          new Error(
            `the writer stopped before the kill: ${stderr.trim().split("\n")[0] || "no output"}`,
          ),
        );
    });
  });
}

export const killMidWrite: LabCheck<LogModule> = {
  id: "01e",
  title: "a writer killed mid-write on a real process loses no acknowledged record",
  needs: "process",
  async run({ module, seed, learnerFile, note }): Promise<CheckOutcome> {
    if (learnerFile === undefined)
      return { ok: false, message: "this check needs the learner's file on disk" };
    const folder = mkdtempSync(join(tmpdir(), "neverstop-lab01-"));
    const logFile = join(folder, "log");
    writeFileSync(logFile, "");
    const random = new Random(`lab01e:${seed}`);
    const history: Operation[] = [];
    const record = (fields: Omit<Operation, "index" | "time">) =>
      history.push({ index: history.length, time: history.length * 1_000_000, ...fields });
    const expected: string[] = [];
    try {
      let next = 0;
      for (let round = 0; round < killRounds; round += 1) {
        const killAt = next + 2 + random.integer(6);
        note(
          `round ${round + 1}/${killRounds}: writing entries ${next}..${killAt}, kill -9 inside ${killAt}`,
        );
        const acked = await writeUntilKilled(learnerFile, logFile, next, killAt);
        for (const index of acked) {
          record({ process: round, type: "invoke", f: "append", value: writerPayload(index) });
          record({ process: round, type: "ok", f: "append", value: writerPayload(index) });
          expected.push(writerPayload(index));
        }
        record({ process: round, type: "invoke", f: "append", value: writerPayload(killAt) });
        record({
          process: "nemesis",
          type: "info",
          f: "kill",
          value: `SIGKILL inside the write of entry ${killAt}`,
        });
        record({ process: round, type: "info", f: "append", value: writerPayload(killAt) });
        const problem = recover(module, logFile, expected, record, round);
        if (problem !== undefined)
          return { ok: false, message: `after kill ${round + 1}: ${problem}`, history };
        next = killAt + 1;
      }
      return {
        ok: true,
        detail: `${killRounds} kills, ${expected.length} acknowledged records kept`,
      };
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  },
};

/** The learner's scan of the real file after a kill, judged; then the truncation. */
function recover(
  module: LogModule,
  logFile: string,
  expected: readonly string[],
  record: (fields: Omit<Operation, "index" | "time">) => void,
  process: number,
): string | undefined {
  const bytes = new Uint8Array(readFileSync(logFile));
  record({ process, type: "invoke", f: "scan", value: null });
  const scanned = callLearner("scanLog", () => module.scanLog(bytes));
  if (!scanned.ok) {
    record({ process, type: "fail", f: "scan", value: scanned.message });
    return scanned.message;
  }
  const { records, validBytes } = scanned.value;
  record({ process, type: "ok", f: "scan", value: { records: records.length, validBytes } });
  const missing = expected.find((payload, index) => records[index] !== payload);
  if (missing !== undefined)
    return `the acknowledged record ${JSON.stringify(missing)} did not come back`;
  if (records.length > expected.length)
    return `scanLog returned ${JSON.stringify(records[expected.length])}, a record whose write was killed half-way`;
  if (!Number.isSafeInteger(validBytes) || validBytes < 0 || validBytes > bytes.length)
    return `validBytes ${validBytes} is not an offset in the ${bytes.length}-byte log`;
  truncateSync(logFile, validBytes);
  return undefined;
}
