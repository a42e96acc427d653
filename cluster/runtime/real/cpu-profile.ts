// Where a node's CPU goes (lesson 9, "capacity planning": measure before believing). V8 writes a
// CPU profile when a process started with `--cpu-prof` exits; this module reads one or more of
// them and answers the two questions a performance change starts from: which functions spend the
// time themselves (self time), and which part of the program they belong to.
//
// A profile is a call tree (nodes with a callFrame and children) plus samples: every sampling
// interval V8 records which tree node was running, and timeDeltas says how long after the
// previous sample. A node's self time is the sum of the deltas of the samples that name it.
// `(idle)` samples are the process waiting for input: left out, so shares are of busy time.
// Samples whose stack passes through the module loader are start-up, counted apart, so that a
// short benchmark's profile is not dominated by compiling the program.
//
// Worked example: samples [a, b, a, (idle)] with deltas [0, 2000, 1000, 5000] (microseconds, as
// V8 writes them) give self times a = 0 + 1 = 1 ms and b = 2 ms: busy 3 ms, b 66.7%, a 33.3%.
//
// `npm run bench:cluster` with BENCH_PROFILE_DIR=/tmp/p profiles every node this way and prints
// the summary in its JSON (issue 13's notes quote it before and after each change).

import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

/** The shape of a .cpuprofile file (V8's Profiler.Profile), as far as this module reads it. */
export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  /** Busy time after start-up, summed over the profiles (ms). */
  busyMs: number;
  /** Share of all busy time spent loading and compiling modules (%). */
  startupPercent: number;
  /** The functions with the most self time after start-up, with their share of it (%). */
  topFunctions: { frame: string; percent: number }[];
  /** Self time after start-up by part of the program (%): a project file, `node:<module>` for
   * Node's own JavaScript, `(native) <name>` for a native function such as a write system call,
   * `(garbage collector)`, `(program)`. */
  byPart: { part: string; percent: number }[];
}

/** Stack frames from these of Node's internal modules mean the module loader is running. */
const loaderModules = new Set(["loader", "module_job", "translators", "hooks"]);

function baseName(url: string): string {
  return url.slice(url.lastIndexOf("/") + 1);
}

function partOf(frame: CallFrame): string {
  if (frame.url === "") {
    return frame.functionName.startsWith("(")
      ? frame.functionName
      : `(native) ${frame.functionName}`;
  }
  if (frame.url.startsWith("node:")) return frame.url;
  // Node's internal modules have bare names (`internal/streams/readable` reports `readable`).
  if (!frame.url.includes("/") || frame.url.startsWith("internal/"))
    return `node:${baseName(frame.url)}`;
  return baseName(frame.url);
}

function frameName(frame: CallFrame): string {
  const where = frame.url === "" ? "" : ` ${baseName(frame.url)}:${frame.lineNumber + 1}`;
  return `${frame.functionName || "(anonymous)"}${where}`;
}

/** Summarises profiles taken of the same program (say, one per node of a cluster), leaving out
 * each profile's first `skipFirstMs` (a benchmark's warm-up: the JIT still compiling). */
export function summarizeProfiles(
  profiles: CpuProfile[],
  topCount = 15,
  skipFirstMs = 0,
): ProfileSummary {
  const byFunction = new Map<string, number>();
  const byPart = new Map<string, number>();
  let busy = 0;
  let startup = 0;
  for (const profile of profiles) {
    const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
    const parents = new Map<number, number>();
    for (const node of profile.nodes) {
      for (const child of node.children ?? []) parents.set(child, node.id);
    }
    const isStartup = new Map<number, boolean>();
    const startupOf = (id: number): boolean => {
      const known = isStartup.get(id);
      if (known !== undefined) return known;
      const parent = parents.get(id);
      const url = nodes.get(id)!.callFrame.url;
      const answer =
        loaderModules.has(baseName(url)) || (parent !== undefined && startupOf(parent));
      isStartup.set(id, answer);
      return answer;
    };
    let elapsed = 0;
    profile.samples.forEach((id, index) => {
      const node = nodes.get(id);
      const delta = profile.timeDeltas[index] ?? 0;
      elapsed += delta;
      if (elapsed < skipFirstMs * 1000) return;
      if (node === undefined || node.callFrame.functionName === "(idle)") return;
      if (startupOf(id)) {
        startup += delta;
        return;
      }
      busy += delta;
      const name = frameName(node.callFrame);
      byFunction.set(name, (byFunction.get(name) ?? 0) + delta);
      const part = partOf(node.callFrame);
      byPart.set(part, (byPart.get(part) ?? 0) + delta);
    });
  }
  const percent = (value: number) => (busy === 0 ? 0 : Math.round((value / busy) * 1000) / 10);
  const ranked = (map: Map<string, number>) =>
    [...map.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  return {
    busyMs: Math.round(busy / 1000),
    startupPercent: busy + startup === 0 ? 0 : Math.round((startup / (busy + startup)) * 1000) / 10,
    topFunctions: ranked(byFunction)
      .slice(0, topCount)
      .map(([frame, time]) => ({ frame, percent: percent(time) })),
    byPart: ranked(byPart)
      .slice(0, topCount)
      .map(([part, time]) => ({ part, percent: percent(time) })),
  };
}

/** Reads every .cpuprofile in `folder` written by a process's main thread (V8 names them
 * CPU.<date>.<time>.<pid>.<thread>.<sequence>.cpuprofile; thread 0 is the main one). */
export function readMainThreadProfiles(folder: string): CpuProfile[] {
  return readdirSync(folder)
    .filter((name) => /\.0\.\d+\.cpuprofile$/.test(name))
    .sort()
    .map((name) => JSON.parse(readFileSync(join(folder, name), "utf8")) as CpuProfile);
}

/** Clock ticks per second in /proc's CPU times (USER_HZ, 100 on Linux). */
const ticksPerSecond = 100;

/**
 * CPU time (user + system, ms, every thread) a process has used so far, from /proc; undefined
 * where there is no /proc or no such process. The benchmarks divide it by operations: on a
 * shared machine throughput depends on how many cores the scheduler hands out, CPU per
 * operation much less.
 */
export function processCpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces and parentheses: fields are counted after it.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond;
  } catch {
    return undefined;
  }
}

/** The profile scripts/profile-on-signal.js writes for process `pid` in `folder` after its
 * second SIGUSR2 (the name readMainThreadProfiles reads too). */
export function phaseProfileFile(folder: string, pid: number | undefined): string {
  return join(folder, `phase.${pid}.0.001.cpuprofile`);
}

/** That profile, or none when it was not written (the process exited first, say). */
export function readPhaseProfile(folder: string, pid: number | undefined): CpuProfile[] {
  const file = phaseProfileFile(folder, pid);
  return existsSync(file) ? [JSON.parse(readFileSync(file, "utf8")) as CpuProfile] : [];
}
