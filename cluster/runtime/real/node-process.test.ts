// How a node process is started (lesson 5): the command line follows NEVERSTOP_NODE_PROGRAM, so
// a benchmark run from the sources can measure compiled nodes, and a bad value is one clear line.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { nodeProcessCommand, repositoryRoot } from "./node-process.ts";

const variables = ["NEVERSTOP_NODE_PROGRAM", "NEVERSTOP_NODE_FLAGS", "NEVERSTOP_NODE_CPU_PROF_DIR"];
const saved = variables.map((name) => process.env[name]);
beforeEach(() => {
  for (const name of variables) delete process.env[name];
});
afterEach(() => {
  variables.forEach((name, index) => {
    if (saved[index] === undefined) delete process.env[name];
    else process.env[name] = saved[index];
  });
});

describe("nodeProcessCommand", () => {
  it("runs the sources through tsx when the caller does, or when told to", () => {
    const unset = nodeProcessCommand("/tmp/n1/config.json");
    process.env["NEVERSTOP_NODE_PROGRAM"] = "sources";
    const sources = nodeProcessCommand("/tmp/n1/config.json");
    for (const { command, args } of [unset, sources]) {
      expect(command).toBe(process.execPath);
      expect(args).toEqual([
        join(repositoryRoot, "bin", "run-ts.js"),
        join(repositoryRoot, "cluster", "runtime", "real", "node-main.ts"),
        "--config",
        "/tmp/n1/config.json",
      ]);
    }
  });

  it("runs dist/node-main.js when told compiled, and says so when there is no build", () => {
    process.env["NEVERSTOP_NODE_PROGRAM"] = "compiled";
    const compiled = join(repositoryRoot, "dist", "node-main.js");
    if (existsSync(compiled)) {
      expect(nodeProcessCommand("/tmp/c.json").args).toEqual([
        "--enable-source-maps",
        compiled,
        "--config",
        "/tmp/c.json",
      ]);
    } else {
      expect(() => nodeProcessCommand("/tmp/c.json")).toThrow(/dist\/node-main.js is missing/);
    }
  });

  it("refuses any other value in one line", () => {
    process.env["NEVERSTOP_NODE_PROGRAM"] = "fast";
    expect(() => nodeProcessCommand("/tmp/c.json")).toThrow(
      "Expected NEVERSTOP_NODE_PROGRAM to be compiled or sources, got fast",
    );
  });
});
