// Every lab's README commands, run as a learner would copy them into a shell (every lab).
// Blocks fenced as ```sh runnable are extracted and run line by line, in order, from the
// repository's root, each line with bash. A line may end with `# exit N` when the lesson
// expects that status (a grader failing a mistake exits 1); otherwise it must exit 0.
//
// The READMEs are written for a learner's machine: default ports (8081.. for clients) and the
// default folders (.neverstop/, store/). This machine runs other clusters at the same time, so
// the test REWRITES each line before running it, and nothing else:
//   npx neverstop          -> node <repo>/bin/neverstop.js (the same CLI, without npx's lookup)
//   up                     -> + --base-port B --toxiproxy-port T (free ports found here)
//   cluster and fault cmds -> + --data-dir <temp>/data
//   test, sim, lab         -> + --store <temp>/store (lab: + --progress-dir <temp>/progress)
//   localhost:80NN         -> localhost:(B + NN - 80)
// A README whose commands only work with those rewrites would still work for a learner: the
// rewrites only move ports and folders. A cluster left running is stopped at the end.

import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import { freeBasePort } from "../chaos/nemesis/test-support.ts";
import { toxiproxyPortOf } from "../chaos/nemesis/topology.ts";

const repositoryRoot = fileURLToPath(new URL("..", import.meta.url));
const cli = join(repositoryRoot, "bin/neverstop.js");

const clusterCommands = new Set([
  "up",
  "down",
  "status",
  "partition",
  "heal",
  "kill",
  "restart",
  "pause",
  "resume",
  "latency",
  "bandwidth",
  "flaky",
  "skew",
  "reset",
  "join",
  "leave",
]);

export interface ReadmeCommand {
  line: string;
  expectedStatus: number;
}

/** The commands of every ```sh runnable block, in order. */
export function runnableCommands(markdown: string): ReadmeCommand[] {
  const commands: ReadmeCommand[] = [];
  for (const block of markdown.matchAll(/^```sh runnable\n([\s\S]*?)^```$/gm)) {
    for (const raw of block[1]!.split("\n")) {
      const line = raw.trim();
      if (line === "" || line.startsWith("#")) continue;
      const status = /\s#\s*exit (\d+)\s*$/.exec(line);
      commands.push({
        line: status === null ? line : line.slice(0, status.index).trim(),
        expectedStatus: status === null ? 0 : Number(status[1]),
      });
    }
  }
  return commands;
}

export interface Rewrite {
  basePort: number;
  toxiproxyPort: number;
  folder: string;
}

/** The line with ports and folders moved (see the header); the command itself unchanged. */
export function rewriteCommand(line: string, rewrite: Rewrite): string {
  const { basePort, toxiproxyPort, folder } = rewrite;
  let result = line.replace(
    /\b(localhost|127\.0\.0\.1):80(\d\d)\b/g,
    (_, host: string, node: string) => `${host}:${basePort + Number(node) - 80}`,
  );
  result = result.replace(/npx neverstop (\S+)/g, (_, command: string) => {
    const extra: string[] = [];
    if (clusterCommands.has(command)) extra.push(`--data-dir ${join(folder, "data")}`);
    if (command === "up") extra.push(`--base-port ${basePort} --toxiproxy-port ${toxiproxyPort}`);
    if (command === "test" || command === "sim" || command === "lab")
      extra.push(`--store ${join(folder, "store")}`);
    if (command === "lab") extra.push(`--progress-dir ${join(folder, "progress")}`);
    return `node ${cli} ${command}${extra.length === 0 ? "" : ` ${extra.join(" ")}`}`;
  });
  return result;
}

/** One line through bash from the repository's root (asynchronous: the event loop, and so
 * vitest's own time limits, keep running while it waits). */
function runLine(line: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn("bash", ["-c", line], {
      cwd: repositoryRoot,
      env: { ...process.env, CI: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), commandTimeoutMs);
    child.on("close", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** One README line may take this long (a grading on real processes, a cluster start). */
const commandTimeoutMs = 120_000;

/** A layout for up to six nodes (a lab may join spares) whose every port is free now and below
 * the kernel's ephemeral range, where a port free when checked can become the local port of
 * any program's outgoing connection before `up` listens on it (a CI run failed so: the proxy
 * client->n4 on 47904). */
async function freeLayout(): Promise<{ basePort: number; toxiproxyPort: number }> {
  const basePort = await freeBasePort(6);
  return { basePort, toxiproxyPort: toxiproxyPortOf({ basePort, nodeCount: 6 }) };
}

const labFolders = readdirSync(join(repositoryRoot, "labs"))
  .filter((name) => /^\d\d-/.test(name))
  .sort();

function readme(name: string): string {
  const file = join(repositoryRoot, "labs", name, "README.md");
  return existsSync(file) ? readFileSync(file, "utf8") : "";
}

describe("lab README commands, run as written (ports and folders rewritten)", () => {
  test("extraction and rewriting", () => {
    const commands = runnableCommands(
      "```sh runnable\nnpx neverstop up --detach\n# a comment\ncurl localhost:8081/ring\nnpx neverstop lab 03 --file x.ts # exit 1\n```\n```sh\nnpm start\n```\n",
    );
    expect(commands).toEqual([
      { line: "npx neverstop up --detach", expectedStatus: 0 },
      { line: "curl localhost:8081/ring", expectedStatus: 0 },
      { line: "npx neverstop lab 03 --file x.ts", expectedStatus: 1 },
    ]);
    const rewrite = { basePort: 30_000, toxiproxyPort: 29_990, folder: "/tmp/x" };
    expect(rewriteCommand(commands[0]!.line, rewrite)).toBe(
      `node ${cli} up --data-dir /tmp/x/data --base-port 30000 --toxiproxy-port 29990 --detach`,
    );
    expect(rewriteCommand(commands[1]!.line, rewrite)).toBe("curl localhost:30001/ring");
    expect(rewriteCommand(commands[2]!.line, rewrite)).toBe(
      `node ${cli} lab --store /tmp/x/store --progress-dir /tmp/x/progress 03 --file x.ts`,
    );
  });

  for (const name of labFolders) {
    test(`labs/${name}/README.md`, async () => {
      const markdown = readme(name);
      expect(markdown, `labs/${name} has no README.md`).not.toBe("");
      // Labs 00-05 (labs-a) run their grading command here; every lab runs what it marks.
      if (Number(name.slice(0, 2)) <= 5)
        expect(markdown, "its grading command is runnable").toMatch(
          /```sh runnable\n[^`]*npx neverstop lab \d\d/,
        );
      const folder = mkdtempSync(join(tmpdir(), `neverstop-readme-${name.slice(0, 2)}-`));
      mkdirSync(join(folder, "data"));
      let rewrite = { ...(await freeLayout()), folder };
      const run = (line: string) => runLine(line);
      try {
        for (const { line, expectedStatus } of runnableCommands(markdown)) {
          let result = await run(rewriteCommand(line, rewrite));
          // Another cluster on this machine may take a port between the check and the start.
          for (let retry = 0; retry < 3 && /already in use/.test(result.stderr); retry += 1) {
            rewrite = { ...(await freeLayout()), folder };
            result = await run(rewriteCommand(line, rewrite));
          }
          const output = `${result.stdout}\n${result.stderr}`
            .trim()
            .split("\n")
            .slice(-8)
            .join("\n");
          expect(
            result.status,
            `\`${line}\` exited ${result.status}, expected ${expectedStatus}:\n${output}`,
          ).toBe(expectedStatus);
        }
      } finally {
        await run(rewriteCommand("npx neverstop down", rewrite));
      }
    }, 300_000);
  }
});
