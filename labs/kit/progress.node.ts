// The grader's live display (every lab; node only): one line per check, saying what it is
// doing now and how long it has taken, drawn with cli-progress on stderr when stderr is a
// terminal (and not in CI). Otherwise each check prints one line to stderr when it ends, so
// logs and pipes still show progress without control characters.
//
//   03a  a resolver keeps every add of every sibling      pass    41 ms
//   03b  no add is lost across a split                    simulating 12/20 s, 412 ops   3.1 s

import cliProgress from "cli-progress";
import { formatMs, type CheckVerdict, type GradeHooks } from "./grade.ts";

export interface ProgressDisplay extends GradeHooks {
  stop(): void;
}

const titleWidth = 52;

export function createProgressDisplay(
  stream: NodeJS.WriteStream = process.stderr,
  now: () => number = () => performance.now(),
): ProgressDisplay {
  const live = stream.isTTY === true && process.env.CI === undefined;
  if (!live) {
    return {
      onCheckEnd: (check) => stream.write(`${lineFor(check)}\n`),
      stop: () => {},
    };
  }
  const multiBar = new cliProgress.MultiBar(
    {
      stream,
      format: "{id}  {title}  {status}  {elapsed}",
      hideCursor: true,
      clearOnComplete: false,
      autopadding: true,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  );
  const bars = new Map<string, { bar: cliProgress.SingleBar; startedMs: number; done: boolean }>();
  const payload = (id: string, title: string, status: string, elapsedMs: number) => ({
    id,
    title: title.padEnd(titleWidth).slice(0, titleWidth),
    status,
    elapsed: formatMs(elapsedMs),
  });
  // Elapsed times keep moving while a long simulation runs between two notes.
  const ticker = setInterval(() => {
    for (const entry of bars.values()) {
      if (!entry.done) entry.bar.update(0, { elapsed: formatMs(now() - entry.startedMs) });
    }
  }, 500);
  ticker.unref();
  return {
    onCheckStart(check) {
      const bar = multiBar.create(2, 0, payload(check.id, check.title, "starting", 0));
      bars.set(check.id, { bar, startedMs: now(), done: false });
    },
    onCheckNote(check, text) {
      const entry = bars.get(check.id);
      if (entry === undefined) return;
      entry.bar.update(0, { status: text, elapsed: formatMs(now() - entry.startedMs) });
    },
    onCheckEnd(check) {
      const entry = bars.get(check.id);
      if (entry === undefined) return;
      entry.done = true;
      entry.bar.update(2, {
        status: check.ok ? "pass" : "FAIL",
        elapsed: formatMs(check.durationMs),
      });
      entry.bar.stop();
    },
    stop() {
      clearInterval(ticker);
      multiBar.stop();
    },
  };
}

function lineFor(check: CheckVerdict): string {
  return `${check.ok ? "pass" : "FAIL"} ${check.id} ${check.title} (${formatMs(check.durationMs)})`;
}
