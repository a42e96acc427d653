// `neverstop check` (lesson 6): exit codes 0 valid, 1 invalid, 2 unknown, 3 bad input, and the
// counter-example drawing on an invalid history.

import { mkdtempSync, readFileSync, readdirSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  exitBadInput,
  exitInvalid,
  exitUnknown,
  exitValid,
  runCheckCommand,
} from "./check-command.ts";

const directory = mkdtempSync(join(tmpdir(), "neverstop-check-"));
const corpus = new URL("./test-data/porcupine/", import.meta.url);

function file(name: string, text: string): string {
  const path = join(directory, name);
  writeFileSync(path, text);
  return path;
}

async function run(
  path: string,
  model: string,
  extra: { json?: boolean; timeLimitMs?: number; reportPath?: string; storeRoot?: string } = {},
) {
  const lines: string[] = [];
  const code = await runCheckCommand(path, { model, out: (line) => lines.push(line), ...extra });
  return { code, lines };
}

const good = file(
  "good.jsonl",
  [
    '{"process":0,"type":"invoke","f":"write","value":1,"key":"x"}',
    '{"process":0,"type":"ok","f":"write","value":1,"key":"x"}',
    '{"process":1,"type":"invoke","f":"read","value":null,"key":"x"}',
    '{"process":1,"type":"ok","f":"read","value":1,"key":"x"}',
  ].join("\n"),
);
const stale = file(
  "stale.jsonl",
  [
    '{"process":0,"type":"invoke","f":"write","value":1,"key":"x"}',
    '{"process":0,"type":"ok","f":"write","value":1,"key":"x"}',
    '{"process":1,"type":"invoke","f":"read","value":null,"key":"x"}',
    '{"process":1,"type":"ok","f":"read","value":null,"key":"x"}',
  ].join("\n"),
);

describe("runCheckCommand", () => {
  it("exits 0 on a valid history and says so", async () => {
    const { code, lines } = await run(good, "register");
    expect(code).toBe(exitValid);
    expect(lines[0]).toContain("valid");
  });

  it("exits 1 on an invalid history, writes the drawing and prints its path", async () => {
    const reportPath = join(directory, "stale.html");
    const { code, lines } = await run(stale, "register", { reportPath });
    expect(code).toBe(exitInvalid);
    expect(lines[0]).toContain("INVALID");
    expect(lines[0]).toContain("read() -> nil");
    expect(lines[1]).toBe(`counter-example drawing: ${reportPath}`);
    const html = readFileSync(reportPath, "utf8");
    expect(html).toContain("<svg");
    expect(html).toContain('class="op failed"');
  });

  it("writes the drawing under the store, never beside the history, and prints where", async () => {
    const historyFolder = mkdtempSync(join(tmpdir(), "neverstop-check-history-"));
    const history = join(historyFolder, "stale.jsonl");
    writeFileSync(history, readFileSync(stale));
    const storeRoot = join(directory, "store");
    const first = await run(history, "register", { storeRoot });
    const second = await run(history, "register", { storeRoot });
    expect(first.code).toBe(exitInvalid);
    expect(readdirSync(historyFolder)).toEqual(["stale.jsonl"]);
    const drawings = [first, second].map((outcome) =>
      outcome.lines[1]!.replace("counter-example drawing: ", ""),
    );
    for (const drawing of drawings) {
      expect(dirname(dirname(drawing))).toBe(join(storeRoot, "check"));
      expect(drawing.endsWith("stale.jsonl.counterexample.html")).toBe(true);
      expect(readFileSync(drawing, "utf8")).toContain("<svg");
    }
    // Two checks of one history keep both drawings.
    expect(drawings[0]).not.toBe(drawings[1]);
  });

  it("reads Jepsen's EDN by Jepsen's rules and Porcupine's etcd log by Porcupine's", async () => {
    // After an ok write(1): a failed cas from 1 and an ok read of nil. Jepsen: the cas did not
    // happen and the read tells nothing, so valid. Porcupine: the compare of 1 with 1 cannot
    // fail, so invalid.
    const edn = file(
      "jepsen.edn",
      [
        "[{:process 0, :type :invoke, :f :write, :value 1}",
        " {:process 0, :type :ok, :f :write, :value 1}",
        " {:process 1, :type :invoke, :f :cas, :value [1 2]}",
        " {:process 1, :type :fail, :f :cas, :value [1 2]}",
        " {:process 2, :type :invoke, :f :read, :value nil}",
        " {:process 2, :type :ok, :f :read, :value nil}]",
      ].join("\n"),
    );
    const log = file(
      "porcupine.log",
      [
        "INFO  jepsen.util - 0\t:invoke\t:write\t1",
        "INFO  jepsen.util - 0\t:ok\t:write\t1",
        "INFO  jepsen.util - 1\t:invoke\t:cas\t[1 2]",
        "INFO  jepsen.util - 1\t:fail\t:cas\t[1 2]",
      ].join("\n"),
    );
    const storeRoot = join(directory, "store");
    const jepsen = await run(edn, "cas-register", { storeRoot });
    expect(jepsen.code).toBe(exitValid);
    expect(jepsen.lines[0]).toContain("(cas-register, edn, jepsen's convention)");
    const porcupine = await run(log, "cas-register", { json: true, storeRoot });
    expect(porcupine.code).toBe(exitInvalid);
    const parsed = JSON.parse(porcupine.lines[0]!) as { convention: string; format: string };
    expect([parsed.format, parsed.convention]).toEqual(["jepsen-log", "porcupine"]);
  });

  it("prints one JSON object with --json", async () => {
    const { code, lines } = await run(
      join(new URL(corpus).pathname, "jepsen/etcd_000.log"),
      "cas-register",
      { json: true, reportPath: join(directory, "etcd.html") },
    );
    expect(code).toBe(exitInvalid);
    expect(lines).toHaveLength(1);
    const parsed = JSON.parse(lines[0]!) as {
      valid: unknown;
      format: string;
      counterExample: { failedOperation: unknown };
    };
    expect(parsed.valid).toBe(false);
    expect(parsed.format).toBe("jepsen-log");
    expect(parsed.counterExample.failedOperation).toBeDefined();
  });

  it("exits 2 when the time limit runs out", async () => {
    const { code, lines } = await run(
      join(new URL(corpus).pathname, "jepsen/etcd_002.log"),
      "cas-register",
      { timeLimitMs: 0.001 },
    );
    expect(code).toBe(exitUnknown);
    expect(lines[0]).toContain("unknown");
  });

  it.each([
    [
      "truncated.jsonl",
      '{"process":0,"type":"invoke","f":"read","value":null}\n{"process":0,"ty',
      "truncated.jsonl:2: not a JSON object",
    ],
    [
      "orphan.log",
      "INFO  jepsen.util - 3\t:ok\t:read\t1\n",
      "orphan.log:1: ok read on process 3 without an invoke",
    ],
    ["garbage.txt", "\u0000\u0001 binary junk", "garbage.txt:1: not a history"],
    [
      "badop.jsonl",
      '{"process":0,"type":"invoke","f":"frobnicate","value":1}\n{"process":0,"type":"ok","f":"frobnicate","value":1}',
      "badop.jsonl:1: register has no operation `frobnicate`",
    ],
  ])("exits 3 on %s with file:line: reason", async (name, text, message) => {
    const { code, lines } = await run(file(name, text), "register");
    expect(code).toBe(exitBadInput);
    expect(lines).toHaveLength(1);
    const expected = `neverstop check: ${join(directory, message)}`;
    expect(lines[0]!.slice(0, expected.length)).toBe(expected);
  });

  it("exits 3 on a missing file and an unknown model", async () => {
    expect((await run(join(directory, "missing.jsonl"), "register")).code).toBe(exitBadInput);
    const unknownModel = await run(good, "queue");
    expect(unknownModel.code).toBe(exitBadInput);
    expect(unknownModel.lines[0]).toContain("unknown model `queue`");
    expect(existsSync(`${good}.counterexample.html`)).toBe(false);
  });

  it("checks set and counter histories with their own checkers", async () => {
    const setHistory = file(
      "set.jsonl",
      [
        '{"process":0,"type":"invoke","f":"add","value":1}',
        '{"process":0,"type":"ok","f":"add","value":1}',
        '{"process":1,"type":"invoke","f":"read","value":null}',
        '{"process":1,"type":"ok","f":"read","value":[]}',
      ].join("\n"),
    );
    expect((await run(setHistory, "set")).code).toBe(exitInvalid);
    const counterHistory = file(
      "counter.jsonl",
      [
        '{"process":0,"type":"invoke","f":"add","value":2}',
        '{"process":0,"type":"ok","f":"add","value":2}',
        '{"process":1,"type":"invoke","f":"read","value":null}',
        '{"process":1,"type":"ok","f":"read","value":2}',
      ].join("\n"),
    );
    expect((await run(counterHistory, "counter")).code).toBe(exitValid);
  });
});
