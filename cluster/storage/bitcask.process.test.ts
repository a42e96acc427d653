// kill -9 against a real writer process (lesson 5, "systems that never stop"): under sync
// `always`, every write the writer acknowledged before it was killed must be in the store when it
// is reopened, whatever instant the kill landed on.

import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, expect, it } from "vitest";
import { BitcaskStore } from "./bitcask.ts";

const repositoryRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const writer = "cluster/storage/testing/writer.ts";
const acknowledgementsBeforeKill = 300;
const writerTimeoutMs = 45_000;

let folder: string;
beforeEach(() => {
  folder = fs.mkdtempSync(path.join(os.tmpdir(), "neverstop-kill-"));
});
afterEach(() => {
  fs.rmSync(folder, { recursive: true, force: true });
});

/** Same as writerValue in testing/writer.ts (importing it would run the writer). */
function writerValue(index: number): string {
  return `value-${index}-${"x".repeat(index % 50)}`;
}

function runWriterAndKill(
  extraArguments: string[] = [],
): Promise<{ output: string; signal: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    const writerArguments = [writer, folder, "1000000", "4096", ...extraArguments];
    const child = spawn(process.execPath, ["bin/run-ts.js", ...writerArguments], {
      cwd: repositoryRoot,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    let errors = "";
    let killed = false;
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`writer made too little progress in ${writerTimeoutMs} ms: ${errors}`));
    }, writerTimeoutMs);
    child.stdout.setEncoding("utf8");
    child.stderr.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      output += chunk;
      if (!killed && output.split("\n").length > acknowledgementsBeforeKill) {
        killed = child.kill("SIGKILL");
      }
    });
    child.stderr.on("data", (chunk: string) => (errors += chunk));
    child.on("error", reject);
    child.on("close", (_code, signal) => {
      clearTimeout(timer);
      resolve({ output, signal });
    });
  });
}

it("keeps every write acknowledged before kill -9", async () => {
  const { output, signal } = await runWriterAndKill();
  expect(signal).toBe("SIGKILL");
  // Only whole lines count: a line cut by the kill was not an acknowledgement.
  const lines = output.split("\n").slice(0, -1);
  const acknowledged = lines.map((line) => Number(/^ack key-(\d+)$/.exec(line)?.[1]));
  expect(acknowledged.length).toBeGreaterThanOrEqual(acknowledgementsBeforeKill);
  expect(acknowledged).toEqual(acknowledged.map((_, index) => index));

  const warnings: string[] = [];
  const store = BitcaskStore.open({
    folder,
    fileBytesMax: 4096,
    onWarning: (line) => warnings.push(line),
  });
  try {
    for (const index of acknowledged) expect(store.get(`key-${index}`)).toBe(writerValue(index));
    // At most one more write can have landed: the one in flight when the kill arrived.
    expect(store.stats().keyCount - acknowledged.length).toBeGreaterThanOrEqual(0);
    expect(store.stats().keyCount - acknowledged.length).toBeLessThanOrEqual(1);
    expect(fs.readdirSync(folder).filter((name) => name.endsWith(".data")).length).toBeGreaterThan(
      1,
    );
  } finally {
    store.close();
  }
});

it("keeps every write acknowledged before kill -9 under group commit, 16 writers at once", async () => {
  const writers = 16;
  const { output, signal } = await runWriterAndKill([String(writers)]);
  expect(signal).toBe("SIGKILL");
  const lines = output.split("\n").slice(0, -1);
  const acknowledged = lines.map((line) => Number(/^ack key-(\d+)$/.exec(line)?.[1]));
  expect(acknowledged.length).toBeGreaterThanOrEqual(acknowledgementsBeforeKill);
  expect(acknowledged.every((index) => Number.isInteger(index))).toBe(true);

  const store = BitcaskStore.open({ folder, fileBytesMax: 4096 });
  try {
    for (const index of acknowledged) expect(store.get(`key-${index}`)).toBe(writerValue(index));
    // Writes in flight when the kill landed may or may not be there: at most one per writer.
    const extra = store.stats().keyCount - acknowledged.length;
    expect(extra).toBeGreaterThanOrEqual(0);
    expect(extra).toBeLessThanOrEqual(writers);
  } finally {
    store.close();
  }
});
