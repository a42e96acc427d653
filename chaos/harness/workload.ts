// What a workload is (every lesson's lab runs one): Maelstrom's shape, one file per workload in
// workloads/, each with a docstring saying what property it checks, its operations, the client
// logic that performs them against the cluster, the generator that draws them, and the checker
// that judges the history. This file holds the contract they share.
// No Node built-ins: this file runs in the browser too.

import type { BucketMode, NodeId } from "../../cluster/core/types.ts";
import type { Random } from "../../cluster/runtime/sim/random.ts";
import type { CheckerName } from "./checks.ts";
import type { KvClient } from "./client.ts";
import type { Completion } from "./recorder.ts";

/** One operation as it is invoked: Jepsen's `f` and `value`, plus the key for keyed workloads. */
export interface OperationSpec {
  f: string;
  value: unknown;
  key?: string;
}

/** What a workload may use to perform an operation. */
export interface OperationContext {
  client: KvClient;
  /** The node this client talks to first (Jepsen binds each client to one node). */
  node: NodeId;
  process: number;
  /** The replication factor N: final reads ask every replica (R = N). */
  n: number;
}

export interface WorkloadOptions {
  /** How many independent keys a keyed workload spreads over. */
  keyCount: number;
}

/** One run's workload: stateful (it hands out unique values), created fresh for every run. */
export interface WorkloadInstance {
  /** Draws the next operation for `process`. */
  next(random: Random, process: number): OperationSpec;
  /** Performs `operation` and calls `done` exactly once with its completion. */
  perform(
    operation: OperationSpec,
    context: OperationContext,
    done: (completion: Completion) => void,
  ): void;
  /** Operations run after every fault healed and the clients stopped (the final reads). */
  finalOperations(nodes: readonly NodeId[]): { operation: OperationSpec; node: NodeId }[];
}

export interface Workload {
  name: string;
  /** One sentence: the property the workload checks. */
  property: string;
  /** The bucket its keys live in. */
  bucket: string;
  /** The bucket's mode when a run does not say (default: causal). */
  bucketMode?: BucketMode;
  /** The checkers that judge its history, by default. */
  checkers: CheckerName[];
  create(options: WorkloadOptions): WorkloadInstance;
}

/** Sorted distinct integers out of a list of JSON values (siblings, or a merged set). */
export function distinctIntegers(values: readonly unknown[]): number[] {
  const result = new Set<number>();
  for (const value of values) if (Number.isSafeInteger(value)) result.add(value as number);
  return [...result].sort((a, b) => a - b);
}

/** The elements of every sibling that holds an integer array, merged by union (sorted). */
export function unionOfSiblings(siblings: readonly unknown[]): number[] {
  const elements: unknown[] = [];
  for (const sibling of siblings)
    if (Array.isArray(sibling)) elements.push(...(sibling as unknown[]));
  return distinctIntegers(elements);
}
