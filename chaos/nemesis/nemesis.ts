// The nemesis (lesson 3, "network splits"; lesson 5, "systems that never stop"): the faults a
// test or a learner throws at a cluster, in one vocabulary, behind one interface with three
// backends (local processes, Docker containers, the simulator), so that a test names its
// backend and nothing else changes.
//
//   partition  cut a set of directed links (a shape from partitions.ts); stop heals them
//   latency    delay the data on chosen links by latency +/- jitter; stop removes it
//   bandwidth  cap chosen links at a rate in KB/s; stop removes the cap
//   flaky      a fraction of the connections on chosen links reset (reset_peer) or hang (timeout)
//   kill       kill -9 one node; stop restarts it
//   pause      SIGSTOP one node (it stops answering without dying); stop is SIGCONT
//   skew       move one node's clock by an offset; stop puts it back
//
// Every start and stop is recorded Jepsen's way in the same history as the clients: process
// "nemesis", f "start-partition" / "stop-partition" (and so on), an invoke when it begins and an
// info once it is in force. chaos/checkers/history-view.ts's faultWindows reads exactly these.
// No Node built-ins: the simulator backend runs in the browser too.

import type { NodeId } from "../../cluster/core/types.ts";
import { partition, type DirectedLink, type PartitionShape } from "./partitions.ts";

export const nemesisFaultNames = [
  "partition",
  "latency",
  "bandwidth",
  "flaky",
  "kill",
  "pause",
  "skew",
] as const;
export type NemesisFaultName = (typeof nemesisFaultNames)[number];

/** How a cut link fails: "refuse" is a disabled proxy (the sender learns at once), "drop" a
 * blackhole (Toxiproxy's timeout toxic with 0: data vanishes, the connection stays open). */
export type LinkCutMode = "refuse" | "drop";

/** A toxic on a link, in the words of Toxiproxy's toxics. */
export type LinkToxic =
  | { kind: "latency"; latencyMs: number; jitterMs: number }
  | { kind: "bandwidth"; rateKbPerSecond: number }
  | { kind: "flaky"; mode: "reset_peer" | "timeout"; toxicity: number; timeoutMs: number };

/** A fault with every choice made: the value the history records for it. Links are named as
 * the proxies are: `n1->n2` (what n1 sends to n2), `client->n3` (what clients send to n3). */
export type NemesisFault =
  | { name: "partition"; description: string; how: LinkCutMode; cut: string[] }
  | ({ name: "latency"; links: string[] } & Omit<Extract<LinkToxic, { kind: "latency" }>, "kind">)
  | ({ name: "bandwidth"; links: string[] } & Omit<
      Extract<LinkToxic, { kind: "bandwidth" }>,
      "kind"
    >)
  | ({ name: "flaky"; links: string[] } & Omit<Extract<LinkToxic, { kind: "flaky" }>, "kind">)
  | { name: "kill"; node: NodeId }
  | { name: "pause"; node: NodeId }
  | { name: "skew"; node: NodeId; offsetMs: number };

export const latencyMsMax = 60_000;
export const rateKbPerSecondMax = 10_000_000;
export const flakyTimeoutMsMax = 60_000;
export const skewMsMax = 24 * 3_600_000;
export const linkCountMax = 16 * 17;

/**
 * What a backend does; the `Nemesis` below decides when and records it. Every call may take
 * time on real processes (a restart waits for /health); the simulator backend applies each
 * change before its promise is even returned, so a simulated run stays deterministic.
 */
export interface NemesisBackend {
  readonly kind: "local" | "docker" | "sim";
  readonly nodes: readonly NodeId[];
  /** Cuts exactly these directed links (between nodes). */
  cutLinks(links: readonly DirectedLink[], how: LinkCutMode): Promise<void>;
  /** Restores every cut link. */
  healLinks(): Promise<void>;
  /** Puts the toxic on each link (replacing a toxic of the same kind there). */
  addToxic(links: readonly string[], toxic: LinkToxic): Promise<void>;
  /** Takes the toxic of this kind off each link (no error when there is none). */
  removeToxic(links: readonly string[], kind: LinkToxic["kind"]): Promise<void>;
  kill(node: NodeId): Promise<void>;
  /** Starts a killed node again (or stops and starts a running one). */
  restart(node: NodeId): Promise<void>;
  pause(node: NodeId): Promise<void>;
  resume(node: NodeId): Promise<void>;
  skew(node: NodeId, offsetMs: number): Promise<void>;
  /** Back to a healthy network and clocks: every link healed and free of toxics, every paused
   * node resumed, every skew zero. Killed nodes stay down (restart them by name). */
  reset(): Promise<void>;
}

/** Where nemesis operations go: HistoryRecorder.nemesis has exactly this shape. */
export interface NemesisRecorder {
  nemesis(type: "invoke" | "info", f: string, value: unknown): void;
}

/** Starts and stops faults on a backend and records each in the history. */
export class Nemesis {
  /** The faults started and not yet stopped, oldest first. */
  readonly active: NemesisFault[] = [];

  constructor(
    readonly backend: NemesisBackend,
    private readonly recorder?: NemesisRecorder,
  ) {}

  async start(fault: NemesisFault): Promise<void> {
    validateFault(fault, this.backend.nodes);
    await this.record(`start-${fault.name}`, fault, () => applyStart(this.backend, fault));
    this.active.push(fault);
  }

  async stop(fault: NemesisFault): Promise<void> {
    validateFault(fault, this.backend.nodes);
    await this.record(`stop-${fault.name}`, fault, () => applyStop(this.backend, fault));
    const index = this.active.indexOf(fault);
    if (index >= 0) this.active.splice(index, 1);
  }

  /** Stops every active fault, newest first, then resets the backend. */
  async stopAll(): Promise<void> {
    for (const fault of [...this.active].reverse()) await this.stop(fault);
    await this.backend.reset();
  }

  private async record(f: string, fault: NemesisFault, apply: () => Promise<void>): Promise<void> {
    const value = faultValue(fault);
    this.recorder?.nemesis("invoke", f, value);
    try {
      await apply();
    } catch (error) {
      // The fault may be half applied: an info with the error, and the caller hears of it.
      this.recorder?.nemesis("info", f, { ...value, error: errorLine(error) });
      throw error;
    }
    this.recorder?.nemesis("info", f, value);
  }
}

async function applyStart(backend: NemesisBackend, fault: NemesisFault): Promise<void> {
  switch (fault.name) {
    case "partition":
      return backend.cutLinks(fault.cut.map(parseDirectedLink), fault.how);
    case "latency":
    case "bandwidth":
    case "flaky":
      return backend.addToxic(fault.links, toxicOf(fault));
    case "kill":
      return backend.kill(fault.node);
    case "pause":
      return backend.pause(fault.node);
    case "skew":
      return backend.skew(fault.node, fault.offsetMs);
  }
}

async function applyStop(backend: NemesisBackend, fault: NemesisFault): Promise<void> {
  switch (fault.name) {
    case "partition":
      // Heals every cut link: Jepsen's partitioner holds one partition at a time.
      return backend.healLinks();
    case "latency":
    case "bandwidth":
    case "flaky":
      return backend.removeToxic(fault.links, fault.name);
    case "kill":
      return backend.restart(fault.node);
    case "pause":
      return backend.resume(fault.node);
    case "skew":
      return backend.skew(fault.node, 0);
  }
}

/** The toxic a link fault puts on its links. */
export function toxicOf(
  fault: Extract<NemesisFault, { name: "latency" | "bandwidth" | "flaky" }>,
): LinkToxic {
  switch (fault.name) {
    case "latency":
      return { kind: "latency", latencyMs: fault.latencyMs, jitterMs: fault.jitterMs };
    case "bandwidth":
      return { kind: "bandwidth", rateKbPerSecond: fault.rateKbPerSecond };
    case "flaky":
      return {
        kind: "flaky",
        mode: fault.mode,
        toxicity: fault.toxicity,
        timeoutMs: fault.timeoutMs,
      };
  }
}

/** A partition fault from a shape: the cut links, named as the proxies are. */
export function partitionFault(
  nodes: readonly NodeId[],
  shape: PartitionShape,
  how: LinkCutMode = "refuse",
): Extract<NemesisFault, { name: "partition" }> {
  const { description, cut } = partition([...nodes], shape);
  return { name: "partition", description, how, cut: cut.map(linkName).sort() };
}

/** The value a history records for a fault: everything but its name (that is in `f`). */
export function faultValue(fault: NemesisFault): Record<string, unknown> {
  const { name: _name, ...rest } = fault;
  return rest;
}

/** One line for people: "partition split n1,n2 | n3,n4,n5 (refuse)", "kill n3". */
export function describeNemesisFault(fault: NemesisFault): string {
  switch (fault.name) {
    case "partition":
      return `partition ${fault.description} (${fault.how})`;
    case "latency":
      return `latency ${fault.latencyMs} ms +/- ${fault.jitterMs} ms on ${fault.links.join(", ")}`;
    case "bandwidth":
      return `bandwidth ${fault.rateKbPerSecond} KB/s on ${fault.links.join(", ")}`;
    case "flaky":
      return `flaky ${fault.mode} on ${Math.round(fault.toxicity * 100)}% of connections on ${fault.links.join(", ")}`;
    case "skew":
      return `skew ${fault.node} ${fault.offsetMs >= 0 ? "+" : ""}${fault.offsetMs} ms`;
    default:
      return `${fault.name} ${fault.node}`;
  }
}

export function linkName(link: DirectedLink): string {
  return `${link.from}->${link.to}`;
}

export function parseDirectedLink(text: string): DirectedLink {
  const match = /^([A-Za-z0-9_-]+)->([A-Za-z0-9_-]+)$/.exec(text);
  if (match === null) throw new RangeError(`Expected a link like n1->n2, got ${quote(text)}`);
  return { from: match[1]!, to: match[2]! };
}

/** Every link of a cluster: each directed node-to-node link, then each client link. */
export function allLinkNames(nodes: readonly NodeId[]): string[] {
  const names: string[] = [];
  for (const from of nodes) for (const to of nodes) if (from !== to) names.push(`${from}->${to}`);
  for (const node of nodes) names.push(`client->${node}`);
  return names;
}

/** Checks a link name against the cluster: `n1->n2` between two distinct members, or
 * `client->n3`. Returns the name; throws one line otherwise. */
export function checkLink(text: string, nodes: readonly NodeId[]): string {
  const example = nodes.length >= 2 ? `${nodes[0]}->${nodes[1]} or client->${nodes[0]}` : "";
  let link: DirectedLink;
  try {
    link = parseDirectedLink(text);
  } catch {
    throw new RangeError(`Expected a link like ${example}, got ${quote(text)}`);
  }
  const known = (node: string) => nodes.includes(node);
  if (!(known(link.from) || link.from === "client") || !known(link.to) || link.from === link.to) {
    throw new RangeError(
      `Expected a link between members ${nodes.join(", ")} (like ${example}), got ${quote(text)}`,
    );
  }
  return text;
}

export function checkNode(node: string, nodes: readonly NodeId[]): NodeId {
  if (!nodes.includes(node)) {
    throw new RangeError(`Expected a node among ${nodes.join(", ")}, got ${quote(node)}`);
  }
  return node;
}

/** Throws one line when a fault names unknown nodes or links, or a value out of its range. */
export function validateFault(fault: NemesisFault, nodes: readonly NodeId[]): void {
  const range = (name: string, value: number, low: number, high: number, unit = "") => {
    if (!(Number.isFinite(value) && value >= low && value <= high)) {
      throw new RangeError(`Expected \`${name}\` from ${low} to ${high}${unit}, got ${value}`);
    }
  };
  switch (fault.name) {
    case "partition":
      for (const link of fault.cut) {
        const { from, to } = parseDirectedLink(link);
        checkNode(from, nodes);
        checkNode(to, nodes);
      }
      return;
    case "latency":
    case "bandwidth":
    case "flaky":
      if (fault.links.length === 0 || fault.links.length > linkCountMax) {
        throw new RangeError(`Expected from 1 to ${linkCountMax} links, got ${fault.links.length}`);
      }
      for (const link of fault.links) checkLink(link, nodes);
      if (fault.name === "latency") {
        range("latencyMs", fault.latencyMs, 0, latencyMsMax, " ms");
        range("jitterMs", fault.jitterMs, 0, latencyMsMax, " ms");
      } else if (fault.name === "bandwidth") {
        range("rateKbPerSecond", fault.rateKbPerSecond, 0, rateKbPerSecondMax, " KB/s");
      } else {
        range("toxicity", fault.toxicity, 0, 1);
        range("timeoutMs", fault.timeoutMs, 0, flakyTimeoutMsMax, " ms");
      }
      return;
    case "skew":
      checkNode(fault.node, nodes);
      range("offsetMs", fault.offsetMs, -skewMsMax, skewMsMax, " ms");
      return;
    default:
      checkNode(fault.node, nodes);
  }
}

function quote(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}...` : text);
}

function errorLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split("\n")[0]!;
}
