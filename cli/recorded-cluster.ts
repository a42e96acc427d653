// A running cluster known only from its `.neverstop/cluster.json` (lesson 5, "systems that
// never stop": faults arrive from outside, while the cluster runs). `npx neverstop kill n3`
// runs in a process of its own, long after `up` returned: it finds the nodes' process ids and
// the Toxiproxy URL in the record, signals processes by pid, and starts a killed node again
// exactly as `up` did (same config.json, same data folder, output appended to process.log),
// then writes the new pid back so that `status` and `down` see it.

import { spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { NodeId } from "../cluster/core/types.ts";
import { fetchHealth } from "../cluster/runtime/real/cluster.ts";
import {
  isNeverstopNode,
  nodeProcessCommand,
  repositoryRoot,
} from "../cluster/runtime/real/node-process.ts";
import { checkNode } from "../chaos/nemesis/nemesis.ts";
import type { NodeProcesses } from "../chaos/nemesis/local.ts";
import { reapWaitMs, stopProcess, waitUntilReaped } from "../chaos/nemesis/toxiproxy-process.ts";
import { writeRecord, type ClusterRecord } from "./local-cluster.ts";
const startTimeoutMs = 30_000;
const healthPollMs = 100;

/** The processes of a recorded cluster; changes of pid are written back to cluster.json. */
export class RecordedProcesses implements NodeProcesses {
  readonly nodes: readonly NodeId[];

  constructor(readonly record: ClusterRecord) {
    this.nodes = record.nodes.map((node) => node.id);
  }

  httpUrl(node: NodeId): string {
    return this.entry(node).httpUrl;
  }

  isRunning(node: NodeId): boolean {
    const pid = this.entry(node).pid;
    return pid !== undefined && isNeverstopNode(pid);
  }

  async kill(node: NodeId): Promise<void> {
    const pid = this.runningPid(node);
    process.kill(pid, "SIGKILL");
    await waitUntilReaped(pid, reapWaitMs);
    this.setPid(node, undefined);
  }

  async pause(node: NodeId): Promise<void> {
    process.kill(this.runningPid(node), "SIGSTOP");
  }

  async resume(node: NodeId): Promise<void> {
    process.kill(this.runningPid(node), "SIGCONT");
  }

  async restart(node: NodeId): Promise<void> {
    const entry = this.entry(node);
    if (entry.pid !== undefined && isNeverstopNode(entry.pid)) await stopProcess(entry.pid);
    this.setPid(node, undefined);
    const nodeDir = join(this.record.dataDir, node);
    const configPath = join(nodeDir, "config.json");
    if (!existsSync(configPath)) throw new Error(`${configPath} is missing: cannot start ${node}`);
    const logPath = join(nodeDir, "process.log");
    const logFd = openSync(logPath, "a");
    const { command, args } = nodeProcessCommand(configPath);
    const child = spawn(command, args, {
      cwd: repositoryRoot,
      detached: true,
      stdio: ["ignore", logFd, logFd],
    });
    closeSync(logFd);
    child.once("error", () => {}); // seen below as a node that never answers
    child.unref();
    if (child.pid === undefined) throw new Error(`cannot start ${node}`);
    this.setPid(node, child.pid);
    const deadline = Date.now() + startTimeoutMs;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        this.setPid(node, undefined);
        throw new Error(`${node} exited during start: ${lastLine(logPath)}`);
      }
      const health = await fetchHealth(entry.httpUrl, 1_000);
      if (health !== undefined && health["node"] === node) return;
      if (Date.now() > deadline) {
        throw new Error(
          `${node} did not answer ${entry.httpUrl}/health within ${startTimeoutMs} ms`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, healthPollMs));
    }
  }

  private entry(node: NodeId): ClusterRecord["nodes"][number] {
    checkNode(node, this.nodes);
    return this.record.nodes.find((each) => each.id === node)!;
  }

  private runningPid(node: NodeId): number {
    const pid = this.entry(node).pid;
    if (pid === undefined || !isNeverstopNode(pid)) {
      throw new Error(`${node} is not running (start it with \`npx neverstop restart ${node}\`)`);
    }
    return pid;
  }

  private setPid(node: NodeId, pid: number | undefined): void {
    this.entry(node).pid = pid;
    writeRecord(this.record);
  }
}

function lastLine(path: string): string {
  try {
    const lines = readFileSync(path, "utf8")
      .split("\n")
      .filter((line) => line.trim() !== "" && !line.startsWith("    at "));
    return lines.at(-1) ?? "(no output)";
  } catch {
    return "(no output)";
  }
}
