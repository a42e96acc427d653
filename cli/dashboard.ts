// The live dashboard for the local cluster `up` runs (lesson 10; the course site's dashboard
// page): site/server/dashboard.ts serves the page and the API, and this file hands it the
// cluster as the CLI sees it: cluster.json for the nodes, the nemesis commands for the buttons
// (so each injection is the very `npx neverstop partition|heal|...` path, recorded in
// nemesis.jsonl), and nemesis.jsonl for the history.

import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import {
  ensureSiteBuilt,
  startDashboard,
  type Dashboard,
  type DashboardCluster,
  type NemesisAction,
} from "../site/server/dashboard.ts";
import { readRecord } from "./local-cluster.ts";
import {
  healCommand,
  killCommand,
  latencyCommand,
  nemesisHistoryName,
  partitionCommand,
  pauseCommand,
  resetCommand,
  restartCommand,
  resumeCommand,
  skewCommand,
} from "./nemesis-commands.ts";

const nemesisLinesMax = 500;

/** The cluster recorded in `dataDir`, as the dashboard needs it. */
export function recordedCluster(dataDirOption: string): DashboardCluster {
  const dataDir = resolve(dataDirOption);
  return {
    nodes: () =>
      readRecord(dataDir)?.nodes.map(({ id, httpUrl, clientUrl }) => ({
        id,
        httpUrl,
        ...(clientUrl === undefined ? {} : { clientUrl }),
      })),
    canCutLinks: () => readRecord(dataDir)?.toxiproxy !== undefined,
    act: (action: NemesisAction) => {
      switch (action.action) {
        case "partition":
          return partitionCommand(dataDir, action.groups);
        case "heal":
          return healCommand(dataDir);
        case "reset":
          return resetCommand(dataDir);
        case "kill":
          return killCommand(dataDir, action.node);
        case "restart":
          return restartCommand(dataDir, action.node);
        case "pause":
          return pauseCommand(dataDir, action.node);
        case "resume":
          return resumeCommand(dataDir, action.node);
        case "latency":
          return latencyCommand(dataDir, action.link, action.latency);
        case "skew":
          return skewCommand(dataDir, action.node, action.offset);
      }
    },
    nemesisLog: () => {
      const file = join(dataDir, nemesisHistoryName);
      if (!existsSync(file)) return [];
      return readFileSync(file, "utf8")
        .split("\n")
        .filter((line) => line.trim() !== "")
        .slice(-nemesisLinesMax)
        .flatMap((line) => {
          try {
            return [JSON.parse(line) as unknown];
          } catch {
            return [];
          }
        });
    },
  };
}

/** Builds the site if it never was, starts the dashboard for `dataDir`, prints its URL. */
export async function startClusterDashboard(dataDir: string, port = 0): Promise<Dashboard> {
  const built = await ensureSiteBuilt();
  if (built !== undefined) process.stderr.write(`${built}\n`);
  const dashboard = await startDashboard({ cluster: recordedCluster(dataDir), port });
  console.log(`dashboard: ${dashboard.url}`);
  return dashboard;
}
