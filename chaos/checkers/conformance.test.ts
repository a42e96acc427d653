// Conformance with Porcupine (lesson 6, sharing data): every history of Porcupine's test corpus
// (test-data/porcupine, MIT licence, see LICENSE.md there) must get Porcupine's verdict.
// EXPECTED.tsv lists them: 102 Jepsen etcd logs under the cas-register model and six
// key-value histories under the kv model, checked per key as Porcupine's tests do.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseHistory } from "../harness/history-io.ts";
import { checkLinearizable } from "./linearizable.ts";
import { linearizableModels } from "./models.ts";

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
    const result = checkLinearizable(linearizableModels[model]!, parsed.operations, {
      timeoutMs: 50_000,
    });
    expect(result.valid).toBe(expected === "linearizable");
    if (result.valid === false) {
      expect(result.counterExample).toBeDefined();
    }
  });

  it("checks kv histories per key", () => {
    const parsed = parseHistory(readFileSync(new URL("kv/c10-ok.txt", corpus), "utf8"));
    const result = checkLinearizable(linearizableModels["kv"]!, parsed.operations);
    const keys = new Set(parsed.operations.map((operation) => operation.key));
    expect(result.partitions.map((partition) => partition.key).sort()).toEqual([...keys].sort());
    expect(result.partitions.every((partition) => partition.valid === true)).toBe(true);
  });
});
