// An explicit fault schedule as one line of text (lesson 3, network splits; lesson 5, systems
// that never stop): what the course site's simulation player writes when a learner crashes a
// node or splits the network by hand, so that `npx neverstop test ... --schedule "..."` runs
// exactly that. Entries are separated by ";", each `START..STOP FAULT ARGUMENTS`:
//
//   12s..20s partition n1,n2|n3,n4,n5 drop     named groups (the rest form one more group)
//   4s..6s cut n1->n2 refuse                    one link, one way (several: n1->n2,n2->n1)
//   5s..9s crash n3                             kill -9 n3 at 5 s, restart it at 9 s
//   5s..9s pause n2                             SIGSTOP, then SIGCONT
//   3s..8s skew n4 +30s                         n4's clock 30 s ahead, then back
//   2s..6s flaky n1->n2,n2->n1 0.3              those links lose 30% of their messages
//   2s..6s slow n1->n2 100ms 20ms               that link delays by 100 ms +/- 20 ms
//   4s..9s join n6 via=n1                       the spare n6 joins through n1, then leaves
//
// These faults join the ones drawn from the seed (faults.ts planFaults), so a run keeps its
// random schedule and gains the learner's. No Node built-ins: the site runs this too.

import type { NodeId } from "../../cluster/core/types.ts";
import { formatDuration, parseDuration } from "./duration.ts";
import type { Fault, ScheduledFault } from "./faults.ts";
import { spareNodeOf } from "../nemesis/membership.ts";
import { parseSplit, partition } from "../nemesis/partitions.ts";

export const scheduleEntryCountMax = 1_000;

function cutFault(links: string[], how: "drop" | "refuse"): Fault {
  const [first] = links;
  const [from, to] = first!.split("->") as [string, string];
  const description = links.length === 1 ? `one-way ${from} -/-> ${to}` : `cut ${links.join(", ")}`;
  return { name: "partition", description, how, cut: [...links].sort() };
}

function parseNode(word: string | undefined, nodes: readonly NodeId[], entry: string): NodeId {
  if (word === undefined || !nodes.includes(word)) {
    throw new RangeError(
      `Expected a node among ${nodes.join(", ")} in "${entry}", got ${JSON.stringify(word ?? "")}`,
    );
  }
  return word;
}

function parseHow(word: string | undefined, entry: string): "drop" | "refuse" {
  if (word === undefined || word === "drop") return "drop";
  if (word === "refuse") return "refuse";
  throw new RangeError(`Expected drop or refuse in "${entry}", got ${JSON.stringify(word)}`);
}

function parseFault(words: string[], nodes: readonly NodeId[], entry: string): Fault {
  const [kind, first, second] = words;
  switch (kind) {
    case "partition": {
      const split = partition([...nodes], parseSplit(first ?? ""));
      const cut = split.cut.map((link) => `${link.from}->${link.to}`).sort();
      return {
        name: "partition",
        description: split.description,
        how: parseHow(second, entry),
        cut,
      };
    }
    case "cut": {
      const links = (first ?? "").split(",").filter((link) => link !== "");
      if (links.length === 0) throw new RangeError(`Expected links like n1->n2 in "${entry}"`);
      for (const link of links) {
        const [from, to, extra] = link.split("->");
        parseNode(from, nodes, entry);
        parseNode(to, nodes, entry);
        if (extra !== undefined || from === to)
          throw new RangeError(`Expected a link like n1->n2 in "${entry}", got ${link}`);
      }
      return cutFault(links, parseHow(second, entry));
    }
    case "crash":
    case "pause":
      return { name: kind, node: parseNode(first, nodes, entry) };
    case "skew": {
      const node = parseNode(first, nodes, entry);
      const match = /^([+-])(.+)$/.exec(second ?? "");
      if (match === null)
        throw new RangeError(`Expected an offset like +30s or -500ms in "${entry}"`);
      const offsetMs = parseDuration(match[2]!, "skew offset") * (match[1] === "-" ? -1 : 1);
      return { name: "skew", node, offsetMs };
    }
    case "flaky": {
      const links = (first ?? "").split(",").filter((link) => link !== "");
      const lossRate = Number(second);
      if (links.length === 0 || !(lossRate > 0 && lossRate <= 1))
        throw new RangeError(`Expected flaky LINKS RATE like flaky n1->n2 0.3 in "${entry}"`);
      return { name: "flaky", links, lossRate };
    }
    case "slow": {
      const links = (first ?? "").split(",").filter((link) => link !== "");
      if (links.length === 0)
        throw new RangeError(
          `Expected slow LINKS LATENCY JITTER like slow n1->n2 100ms 20ms in "${entry}"`,
        );
      const latencyMs = parseDuration(second ?? "", "slow latency");
      const jitterMs = parseDuration(words[3] ?? "0ms", "slow jitter");
      return { name: "slow", links, latencyMs, jitterMs: Math.min(jitterMs, latencyMs) };
    }
    case "join":
    case "leave":
      return {
        name: kind,
        // A join brings in the spare (n6 after five nodes), which is not a member yet.
        node: parseNode(first, kind === "join" ? [...nodes, spareNodeOf(nodes)] : nodes, entry),
        via: parseNode(second?.replace(/^via=/, ""), nodes, entry),
      };
    default:
      throw new RangeError(
        `Expected partition, cut, crash, pause, skew, flaky, slow, join or leave in "${entry}", got ${JSON.stringify(kind ?? "")}`,
      );
  }
}

/** Parses a schedule; every mistake is a one-line RangeError naming the entry. */
export function parseSchedule(text: string, nodes: readonly NodeId[]): ScheduledFault[] {
  const entries = text
    .split(";")
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "");
  if (entries.length > scheduleEntryCountMax) {
    throw new RangeError(
      `Expected at most ${scheduleEntryCountMax} schedule entries, got ${entries.length}`,
    );
  }
  return entries.map((entry) => {
    const [window = "", ...words] = entry.split(/\s+/);
    const match = /^([^.]+)\.\.([^.]+)$/.exec(window);
    if (match === null)
      throw new RangeError(`Expected START..STOP like 5s..9s at the start of "${entry}"`);
    const startMs = parseDuration(match[1]!, "schedule start");
    const stopMs = parseDuration(match[2]!, "schedule stop");
    if (stopMs <= startMs) throw new RangeError(`Expected the stop after the start in "${entry}"`);
    return { startMs, stopMs, fault: parseFault(words, nodes, entry) };
  });
}

function formatFault(fault: Fault): string {
  switch (fault.name) {
    case "partition": {
      const how = fault.how === "drop" ? "" : " refuse";
      if (fault.description.startsWith("split "))
        return `partition ${fault.description.slice("split ".length).replaceAll(" ", "")}${how}`;
      return `cut ${fault.cut.join(",")}${how}`;
    }
    case "crash":
    case "pause":
      return `${fault.name} ${fault.node}`;
    case "skew":
      return `skew ${fault.node} ${fault.offsetMs < 0 ? "-" : "+"}${formatDuration(Math.abs(fault.offsetMs))}`;
    case "join":
    case "leave":
      return `${fault.name} ${fault.node} via=${fault.via}`;
    case "flaky":
      return `flaky ${fault.links.join(",")} ${fault.lossRate}`;
    case "slow":
      return `slow ${fault.links.join(",")} ${formatDuration(fault.latencyMs)} ${formatDuration(fault.jitterMs)}`;
    case "none":
      return "none";
  }
}

/** The text form of a schedule: `parseSchedule(formatSchedule(s), nodes)` gives `s` back. */
export function formatSchedule(schedule: readonly ScheduledFault[]): string {
  return schedule
    .map(
      ({ startMs, stopMs, fault }) =>
        `${formatDuration(startMs)}..${formatDuration(stopMs)} ${formatFault(fault)}`,
    )
    .join("; ");
}
