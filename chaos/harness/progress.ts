// The live progress line of a run in a terminal (lesson 10, monitoring: watch the system while
// it is being broken): elapsed of total, operations, ok/fail/info, and the fault in force.
// Drawn on stderr with cli-progress, only when stderr is a terminal and not in CI, so that
// logs, pipes and `--json` output stay clean.

import cliProgress from "cli-progress";
import type { ProgressSnapshot } from "./run-core.ts";

export interface ProgressLine {
  update(snapshot: ProgressSnapshot): void;
  stop(): void;
}

const silent: ProgressLine = { update: () => {}, stop: () => {} };

export function progressWanted(stream: NodeJS.WriteStream = process.stderr): boolean {
  return stream.isTTY === true && process.env.CI === undefined;
}

export function createProgressLine(
  label: string,
  stream: NodeJS.WriteStream = process.stderr,
): ProgressLine {
  if (!progressWanted(stream)) return silent;
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: `${label} {bar} {elapsed}/{totalTime} | {ops} ops: {ok} ok, {fail} fail, {info} info | {fault}`,
      hideCursor: true,
      clearOnComplete: true,
      barsize: 20,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(snapshot) {
      const payload = {
        elapsed: seconds(snapshot.elapsedMs),
        totalTime: seconds(snapshot.totalMs),
        ops: snapshot.invoked,
        ok: snapshot.ok,
        fail: snapshot.fail,
        info: snapshot.info,
        fault: snapshot.fault ?? "no fault",
      };
      if (!started) {
        bar.start(snapshot.totalMs, snapshot.elapsedMs, payload);
        started = true;
      } else bar.update(snapshot.elapsedMs, payload);
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

function seconds(milliseconds: number): string {
  return `${(milliseconds / 1000).toFixed(0)}s`;
}
