// Lab 01's simulated disk, byte by byte (lesson 1, a crash in the critical section): a log file
// that a crash can tear at any byte and a bad sector can flip a bit in. A grading scenario is a
// list of steps, and the same steps are recorded as a Jepsen-style history, so that the kit can
// shrink a failing scenario by dropping operations and the report can draw it:
//
//   append "a"        invoke append "a" / ok            (synced: acknowledged)
//   tear "b" at 3     invoke append "b" / info {kept: 3} (the crash came 3 bytes into it)
//   flip 0:9:2        nemesis flip-bit {record: 0, byte: 9, bit: 2}
//   recover           invoke scan / ok {records, validBytes}; the writer truncates there
//
// After each recover the learner's answer is compared with what must survive: every
// acknowledged record, in order, up to the first damaged one, and nothing else.
// No Node built-ins: the course site grades this lab in the browser too.

import type { Operation } from "../../chaos/harness/history.ts";
import { callLearner } from "../kit/lab.ts";

export interface LogModule {
  encodeRecord(payload: string): Uint8Array;
  scanLog(bytes: Uint8Array): { records: string[]; validBytes: number };
}

export type Step =
  | { kind: "append"; payload: string }
  | { kind: "tear"; payload: string; keptBytes: number }
  | { kind: "flip"; record: number; byte: number; bit: number }
  | { kind: "recover" };

/** A record on the disk: its payload, where it starts, how long it is, whether it is damaged. */
interface Placed {
  payload: string;
  start: number;
  length: number;
  damaged: boolean;
}

/** Runs the steps against the learner's functions; the history, and the first problem. */
export function runScenario(
  module: LogModule,
  steps: readonly Step[],
): { history: Operation[]; problem: string | undefined } {
  const history: Operation[] = [];
  const record = (fields: Omit<Operation, "index" | "time">) =>
    history.push({ index: history.length, time: history.length * 1_000_000, ...fields });
  let disk: Uint8Array = new Uint8Array(0);
  let placed: Placed[] = [];
  for (const step of steps) {
    if (step.kind === "append" || step.kind === "tear") {
      record({ process: 0, type: "invoke", f: "append", value: step.payload });
      const encoded = callLearner("encodeRecord", () => module.encodeRecord(step.payload));
      if (!encoded.ok) return { history, problem: encoded.message };
      if (!(encoded.value instanceof Uint8Array))
        return {
          history,
          problem: `encodeRecord returned ${typeof encoded.value}, not a Uint8Array`,
        };
      const kept =
        step.kind === "tear"
          ? encoded.value.subarray(0, Math.min(step.keptBytes, encoded.value.length - 1))
          : encoded.value;
      disk = concat(disk, kept);
      if (step.kind === "append") {
        placed.push({
          payload: step.payload,
          start: disk.length - kept.length,
          length: kept.length,
          damaged: false,
        });
        record({ process: 0, type: "ok", f: "append", value: step.payload });
      } else record({ process: 0, type: "info", f: "append", value: { kept: kept.length } });
      continue;
    }
    if (step.kind === "flip") {
      const target = placed[step.record];
      record({ process: "nemesis", type: "info", f: "flip-bit", value: { ...step } });
      if (target === undefined || target.length === 0) continue;
      const at = target.start + (step.byte % target.length);
      disk[at] = disk[at]! ^ (1 << (step.bit % 8));
      target.damaged = true;
      continue;
    }
    record({ process: 0, type: "invoke", f: "scan", value: null });
    const scanned = callLearner("scanLog", () => module.scanLog(disk.slice()));
    if (!scanned.ok) {
      record({ process: 0, type: "fail", f: "scan", value: scanned.message });
      return { history, problem: `after the crash, ${scanned.message}` };
    }
    const answer = scanned.value;
    record({ process: 0, type: "ok", f: "scan", value: answer });
    const survivors = placed.slice(0, firstDamaged(placed));
    const problem = judgeScan(answer, survivors, placed);
    if (problem !== undefined) return { history, problem };
    disk = disk.slice(0, answer.validBytes); // the writer truncates the torn tail, then appends
    placed = survivors;
  }
  return { history, problem: undefined };
}

function firstDamaged(placed: readonly Placed[]): number {
  const index = placed.findIndex((entry) => entry.damaged);
  return index === -1 ? placed.length : index;
}

function judgeScan(
  answer: { records: string[]; validBytes: number } | undefined,
  survivors: readonly Placed[],
  placed: readonly Placed[],
): string | undefined {
  if (typeof answer !== "object" || answer === null || !Array.isArray(answer.records))
    return `scanLog returned ${JSON.stringify(answer)}, not { records, validBytes }`;
  const expected = survivors.map((entry) => entry.payload);
  for (let index = 0; index < Math.max(expected.length, answer.records.length); index += 1) {
    const got = answer.records[index];
    const want = expected[index];
    if (got === want) continue;
    if (want === undefined) {
      const damaged = placed[firstDamaged(placed)];
      return damaged === undefined
        ? `scanLog returned ${JSON.stringify(got)} as record ${index}, but only ${expected.length} record(s) were written whole`
        : `scanLog returned ${JSON.stringify(got)} as record ${index}, at or after the damaged record ${JSON.stringify(damaged.payload)}: nothing from there on can be trusted`;
    }
    return got === undefined
      ? `the acknowledged record ${index} (${JSON.stringify(want)}) is missing after recovery`
      : `record ${index} came back as ${JSON.stringify(got)}, but ${JSON.stringify(want)} was written`;
  }
  const end = survivors.length === 0 ? 0 : survivors.at(-1)!.start + survivors.at(-1)!.length;
  if (answer.validBytes !== end)
    return `validBytes is ${answer.validBytes}, but the intact records end at byte ${end}: the next append would land ${answer.validBytes > end ? "after the torn bytes, where no scan will find it" : "over an intact record"}`;
  return undefined;
}

/** The steps a history records (the inverse of runScenario's recording), for shrinking. */
export function stepsOf(history: readonly Operation[]): Step[] {
  const steps: Step[] = [];
  for (let position = 0; position < history.length; position += 1) {
    const operation = history[position]!;
    if (operation.process === "nemesis" && operation.f === "flip-bit") {
      const { record, byte, bit } = operation.value as {
        record: number;
        byte: number;
        bit: number;
      };
      steps.push({ kind: "flip", record, byte, bit });
    } else if (operation.type === "invoke" && operation.f === "scan") {
      steps.push({ kind: "recover" });
    } else if (operation.type === "invoke" && operation.f === "append") {
      const completion = history
        .slice(position + 1)
        .find((later) => later.process === operation.process);
      const payload = operation.value as string;
      if (completion?.type === "info")
        steps.push({
          kind: "tear",
          payload,
          keptBytes: (completion.value as { kept: number }).kept,
        });
      else steps.push({ kind: "append", payload });
    }
  }
  return steps;
}

/** What the real writer process (writer.node.ts) appends as entry `index`. */
export function writerPayload(index: number): string {
  return `entry ${index}: move 10 from alice to bob ${"-".repeat(index % 7)}`;
}

function concat(left: Uint8Array, right: Uint8Array): Uint8Array {
  const joined = new Uint8Array(left.length + right.length);
  joined.set(left, 0);
  joined.set(right, left.length);
  return joined;
}
