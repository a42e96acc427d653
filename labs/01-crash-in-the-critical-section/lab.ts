// Lab 01, the world is concurrent: a crash in the critical section (the grader's browser-safe
// part). The learner writes a self-checking log record (length, CRC) and the scan that recovers
// a log after a crash; these checks tear and damage a simulated disk byte by byte. The check
// that kills a real writer process mid-write is in lab.node.ts and runs by default.

import { Random } from "../../cluster/runtime/sim/random.ts";
import { defineLab, requireFunctions, type CheckOutcome } from "../kit/lab.ts";
import { runScenario, stepsOf, type LogModule, type Step } from "./torn-disk.ts";

export function validateLogModule(module: Record<string, unknown>): LogModule {
  return requireFunctions(module, ["encodeRecord", "scanLog"]) as unknown as LogModule;
}

/** Payloads that find the usual slips: empty, multi-byte UTF-8, longer than 255 bytes. */
export function payloads(random: Random): string[] {
  const long = Array.from({ length: 300 + random.integer(50) }, (_, index) =>
    String.fromCharCode(97 + (index % 26)),
  ).join("");
  return [
    `debit alice ${1 + random.integer(90)}`,
    "",
    "créditer bob ✓ 10€",
    long,
    JSON.stringify({ transfer: random.integer(1_000), from: "alice", to: "bob" }),
    "",
  ];
}

/** Runs scenarios in order; the first that fails becomes the check's failure, shrinkable. */
export function firstFailing(module: LogModule, scenarios: Iterable<Step[]>): CheckOutcome {
  let count = 0;
  for (const steps of scenarios) {
    count += 1;
    const { history, problem } = runScenario(module, steps);
    if (problem !== undefined) {
      return {
        ok: false,
        message: problem,
        history,
        stillFails: (smaller) => runScenario(module, stepsOf(smaller)).problem !== undefined,
        reproduce: (smaller) => runScenario(module, stepsOf(smaller)).history,
      };
    }
  }
  return { ok: true, detail: `${count} scenario(s)` };
}

function* tornScenarios(random: Random): Generator<Step[]> {
  const written = payloads(random)
    .slice(0, 4)
    .map((payload): Step => ({ kind: "append", payload }));
  const last = "credit bob 10";
  const recordBytes = 8 + new TextEncoder().encode(last).length;
  for (let keptBytes = 0; keptBytes < recordBytes; keptBytes += 1) {
    yield [...written, { kind: "tear", payload: last, keptBytes }, { kind: "recover" }];
  }
  // A crash during the very first write: an empty log with a torn record in it.
  for (const keptBytes of [1, 5, 9])
    yield [{ kind: "tear", payload: last, keptBytes }, { kind: "recover" }];
}

function* damagedScenarios(random: Random): Generator<Step[]> {
  const written = payloads(random).map((payload): Step => ({
    kind: "append",
    payload: `${payload}.`,
  }));
  for (let record = 0; record < written.length; record += 1) {
    for (const byte of [0, 5, 8, 9 + random.integer(4)]) {
      yield [
        ...written,
        { kind: "flip", record, byte, bit: random.integer(8) },
        { kind: "recover" },
      ];
    }
  }
}

function* appendAfterRecoveryScenarios(random: Random): Generator<Step[]> {
  const before = payloads(random)
    .slice(0, 3)
    .map((payload): Step => ({ kind: "append", payload }));
  for (const keptBytes of [3, 11, 20]) {
    yield [
      ...before,
      { kind: "tear", payload: "transfer that was cut short", keptBytes },
      { kind: "recover" },
      { kind: "append", payload: "written after recovery" },
      { kind: "append", payload: "and another" },
      { kind: "recover" },
    ];
  }
}

export const lab01 = defineLab<LogModule>({
  id: "01",
  slug: "01-crash-in-the-critical-section",
  title: "The world is concurrent: a crash in the critical section",
  learnerFile: "log-record.ts",
  talkSlide: "The world is concurrent (shared state, a crash between two writes)",
  paperSection: "Dynamo 4.1 (the local persistence engine); Bitcask's CRC-checked records",
  validate: validateLogModule,
  checks: [
    {
      id: "01a",
      title: "every record written comes back, in order",
      needs: "pure",
      run: ({ module, seed }) => {
        const written = payloads(new Random(`lab01:${seed}`));
        return firstFailing(module, [
          [...written.map((payload): Step => ({ kind: "append", payload })), { kind: "recover" }],
          [{ kind: "recover" }],
        ]);
      },
    },
    {
      id: "01b",
      title: "a torn write loses only the record being written",
      needs: "pure",
      run: ({ module, seed }) => firstFailing(module, tornScenarios(new Random(`lab01b:${seed}`))),
    },
    {
      id: "01c",
      title: "a damaged record is never returned, nor anything after it",
      needs: "pure",
      run: ({ module, seed }) =>
        firstFailing(module, damagedScenarios(new Random(`lab01c:${seed}`))),
    },
    {
      id: "01d",
      title: "records appended after recovery survive the next scan",
      needs: "pure",
      run: ({ module, seed }) =>
        firstFailing(module, appendAfterRecoveryScenarios(new Random(`lab01d:${seed}`))),
    },
  ],
  mistakes: {
    "drops-last-record.ts": {
      fails: "01a",
      why: "an off-by-one drops a last record that is all header",
    },
    "reads-partial-header.ts": {
      fails: "01b",
      why: "a tear inside the header makes the scan throw",
    },
    "no-checksum.ts": { fails: "01c", why: "a flipped bit comes back as data nobody wrote" },
    "skip-damaged.ts": {
      fails: "01c",
      why: "records after a hole are returned as if nothing were missing",
    },
    "no-truncate.ts": {
      fails: "01d",
      why: "the writer appends after the torn tail, where no scan finds it",
    },
  },
});
