// Conformance with Porcupine and Knossos (lesson 6, sharing data): every history of their test
// corpora must get the verdict the tool that ships it gives.
// - test-data/porcupine (MIT licence, LICENSE.md there): EXPECTED.tsv lists 102 Jepsen etcd logs
//   under the cas-register model and six key-value histories under the kv model, checked per
//   key as Porcupine's tests do. The logs are read by Porcupine's convention.
// - test-data/knossos (EPL 1.0, LICENCE there): 113 good and 7 bad cas-register histories in
//   Jepsen EDN, read by Jepsen's convention, as Knossos's own test reads them.
// The format of each file, told by its content, picks the convention: nothing here names it.

import { readFileSync, readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseHistory } from "../harness/history-io.ts";
import type { Operation } from "../harness/history.ts";
import { checkLinearizable } from "./linearizable.ts";
import { casRegisterModel, linearizableModelFor } from "./models.ts";

const corpus = new URL("./test-data/porcupine/", import.meta.url);
const rows = readFileSync(new URL("EXPECTED.tsv", corpus), "utf8")
  .trim()
  .split("\n")
  .slice(1)
  .map((row) => row.split("\t") as [string, string, string]);

describe("Porcupine corpus", () => {
  it("has every row (108: etcd_095 is empty and has none)", () => {
    expect(rows).toHaveLength(108);
    expect(rows.some(([file]) => file.includes("etcd_095"))).toBe(false);
  });

  it.each(rows)("%s under %s is %s", (file, model, expected) => {
    const parsed = parseHistory(readFileSync(new URL(file, corpus), "utf8"));
    expect(parsed.convention).toBe(file.startsWith("jepsen/") ? "porcupine" : "jepsen");
    const result = checkLinearizable(
      linearizableModelFor(model, parsed.convention)!,
      parsed.operations,
      {
        timeoutMs: 50_000,
      },
    );
    expect(result.valid).toBe(expected === "linearizable");
    if (result.valid === false) {
      expect(result.counterExample).toBeDefined();
    }
  });

  it("checks kv histories per key", () => {
    const parsed = parseHistory(readFileSync(new URL("kv/c10-ok.txt", corpus), "utf8"));
    const result = checkLinearizable(
      linearizableModelFor("kv", parsed.convention)!,
      parsed.operations,
    );
    const keys = new Set(parsed.operations.map((operation) => operation.key));
    expect(result.partitions.map((partition) => partition.key).sort()).toEqual([...keys].sort());
    expect(result.partitions.every((partition) => partition.valid === true)).toBe(true);
  });
});

const knossos = new URL("./test-data/knossos/", import.meta.url);
const knossosFiles = (verdict: "good" | "bad"): string[] =>
  readdirSync(new URL(`${verdict}/`, knossos))
    .filter((name) => name.endsWith(".edn"))
    .sort()
    .map((name) => `${verdict}/${name}`);
const knossosGood = knossosFiles("good");
const knossosBad = knossosFiles("bad");

function readKnossos(file: string) {
  return parseHistory(readFileSync(new URL(file, knossos), "utf8"));
}

/** Knossos's test starts the register at 0: an ok write(0) by a fresh process before all. */
function fromZero(operations: readonly Operation[]): Operation[] {
  const process = 1 + Math.max(0, ...operations.map((operation) => Number(operation.process) || 0));
  const write = { process, f: "write", value: 0, time: 0 };
  return [
    { ...write, index: 0, type: "invoke" },
    { ...write, index: 1, type: "ok" },
    ...operations.map((operation, position) => ({ ...operation, index: position + 2 })),
  ];
}

describe("Knossos cas-register corpus", () => {
  it("has every history Knossos's test reads (113 good, 7 bad)", () => {
    expect([knossosGood.length, knossosBad.length]).toEqual([113, 7]);
  });

  it.each([
    ...knossosGood.map((file) => [file, true] as const),
    ...knossosBad.map((file) => [file, false] as const),
  ])("%s is linearizable: %s", (file, expected) => {
    const parsed = readKnossos(file);
    expect([parsed.format, parsed.convention]).toEqual(["edn", "jepsen"]);
    const model = linearizableModelFor("cas-register", parsed.convention)!;
    // `unknown` is never a pass: toBe compares with true or false exactly.
    const fromNil = checkLinearizable(model, parsed.operations, { timeoutMs: 50_000 });
    expect(fromNil.valid).toBe(expected);
    const fromZeroResult = checkLinearizable(model, fromZero(parsed.operations), {
      timeoutMs: 50_000,
    });
    expect(fromZeroResult.valid).toBe(expected);
    if (!expected) expect(fromNil.counterExample).toBeDefined();
  });

  it("cries wolf on 9 good histories when read by Porcupine's convention instead", () => {
    // The reason the format picks the convention: Porcupine's reading of a failed cas (the
    // compare ran and did not match) finds no order for these valid Jepsen histories.
    const wolves = knossosGood.filter(
      (file) => checkLinearizable(casRegisterModel, readKnossos(file).operations).valid === false,
    );
    expect(wolves).toHaveLength(9);
  });
});
