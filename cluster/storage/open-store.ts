// Opening a node's store from configuration (lesson 5, "systems that never stop": the sync policy
// is the knob between speed and what a crash may take; lesson 10: its name shows up in the node's
// status and metrics). The real runtime and the command line read policies as text:
// `always`, `never`, `interval` (100 ms) or `interval:250`.

import path from "node:path";
import { BitcaskStore } from "./bitcask.ts";
import type { BitcaskOptions } from "./bitcask.ts";
import { checkSyncPolicy } from "./record.ts";
import { syncPolicyNames } from "./store.ts";
import type { SyncPolicy } from "./store.ts";

export const syncIntervalMsDefault = 100;

/** Parses `always`, `never`, `interval` or `interval:MS`; throws a one-line error otherwise. */
export function parseSyncPolicy(text: string): SyncPolicy {
  const [kind, intervalText, ...rest] = text.trim().split(":");
  const expected = `Expected a sync policy of ${syncPolicyNames.join(", ")} or interval:MS, got ${JSON.stringify(text)}`;
  if (rest.length > 0) throw new RangeError(expected);
  if (kind === "always" || kind === "never") {
    if (intervalText !== undefined) throw new RangeError(expected);
    return { kind };
  }
  if (kind !== "interval") throw new RangeError(expected);
  const intervalMs = intervalText === undefined ? syncIntervalMsDefault : Number(intervalText);
  if (intervalText !== undefined && !/^\d+$/.test(intervalText)) throw new RangeError(expected);
  const policy: SyncPolicy = { kind: "interval", intervalMs };
  checkSyncPolicy(policy);
  return policy;
}

/** The text parseSyncPolicy reads back: `formatSyncPolicy(parseSyncPolicy(x))` is canonical. */
export function formatSyncPolicy(policy: SyncPolicy): string {
  return policy.kind === "interval" ? `interval:${policy.intervalMs}` : policy.kind;
}

/** Where a node keeps its data: `<root>/<nodeId>/data`, e.g. `.neverstop/n1/data`. */
export function nodeDataFolder(root: string, nodeId: string): string {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(nodeId)) {
    throw new RangeError(
      `Expected \`nodeId\` to be 1 to 64 letters, digits, _ or -, got ${JSON.stringify(nodeId)}`,
    );
  }
  return path.join(root, nodeId, "data");
}

export interface NodeStoreOptions extends Omit<BitcaskOptions, "folder" | "syncPolicy"> {
  /** The folder that holds every node's folder, e.g. `.neverstop`. */
  root: string;
  nodeId: string;
  /** A policy or its text form; default `always`. */
  syncPolicy?: SyncPolicy | string;
}

/** Opens node `nodeId`'s Bitcask store under `root`; throws StoreError when it cannot. */
export function openNodeStore(options: NodeStoreOptions): BitcaskStore {
  const { root, nodeId, syncPolicy, ...rest } = options;
  const policy = typeof syncPolicy === "string" ? parseSyncPolicy(syncPolicy) : syncPolicy;
  return BitcaskStore.open({
    ...rest,
    folder: nodeDataFolder(root, nodeId),
    ...(policy === undefined ? {} : { syncPolicy: policy }),
  });
}
