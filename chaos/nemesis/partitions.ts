// Partition shapes (lesson 3, "network splits"): pure functions from a list of nodes to the
// directed links a partition cuts. Every backend applies the same list: the simulator cuts its
// link table, the local and docker backends disable the matching Toxiproxy proxies (`n1->n2`).
// Jepsen's vocabulary: halves, majority/minority, isolate one node, bridge, ring, one-way.
// No Node built-ins: the course site draws these in the browser.

export type DirectedLink = { from: string; to: string };

export type PartitionShape =
  | { kind: "halves" } // two halves, as even as possible (the first half is the larger)
  | { kind: "majority-minority"; minority?: string[] } // a random or named minority
  | { kind: "isolate"; node: string } // one node alone
  | { kind: "bridge"; bridge?: string } // two halves that both still reach one bridge node
  | { kind: "ring" } // each node reaches only its neighbours on a ring
  | { kind: "one-way"; from: string; to: string } // from cannot reach to; to still reaches from
  | { kind: "split"; groups: string[][] }; // named groups: "n1,n2|n3,n4,n5"

export interface Partition {
  description: string;
  /** Groups of nodes that still reach each other fully (empty for ring and one-way). */
  groups: string[][];
  cut: DirectedLink[];
}

/** Cuts every link between nodes of different groups, in both directions. */
function cutBetween(groups: string[][]): DirectedLink[] {
  const groupOf = new Map<string, number>();
  groups.forEach((group, index) => group.forEach((node) => groupOf.set(node, index)));
  const nodes = groups.flat();
  const cut: DirectedLink[] = [];
  for (const from of nodes) {
    for (const to of nodes) {
      if (from !== to && groupOf.get(from) !== groupOf.get(to)) cut.push({ from, to });
    }
  }
  return cut;
}

function describeGroups(groups: string[][]): string {
  return groups.map((group) => group.join(",")).join(" | ");
}

function assertKnown(nodes: string[], named: string[]): void {
  for (const node of named) {
    if (!nodes.includes(node)) {
      throw new RangeError(`Expected a node among ${nodes.join(", ")}, got ${node}`);
    }
  }
}

/** The links a shape cuts among `nodes`. */
export function partition(nodes: string[], shape: PartitionShape): Partition {
  if (nodes.length < 2) throw new RangeError("Expected at least two nodes to partition");
  switch (shape.kind) {
    case "halves": {
      const middle = Math.ceil(nodes.length / 2);
      const groups = [nodes.slice(0, middle), nodes.slice(middle)];
      return { description: `halves ${describeGroups(groups)}`, groups, cut: cutBetween(groups) };
    }
    case "majority-minority": {
      const minority = shape.minority ?? nodes.slice(Math.floor(nodes.length / 2) + 1);
      assertKnown(nodes, minority);
      if (minority.length * 2 >= nodes.length) {
        throw new RangeError(
          `Expected a minority of ${nodes.length} nodes, got ${minority.join(",")}`,
        );
      }
      const groups = [nodes.filter((node) => !minority.includes(node)), minority];
      return {
        description: `majority/minority ${describeGroups(groups)}`,
        groups,
        cut: cutBetween(groups),
      };
    }
    case "isolate": {
      assertKnown(nodes, [shape.node]);
      const groups = [nodes.filter((node) => node !== shape.node), [shape.node]];
      return { description: `isolate ${shape.node}`, groups, cut: cutBetween(groups) };
    }
    case "bridge": {
      // Jepsen's bridge: two majorities that overlap in one node, which talks to both sides.
      const bridge = shape.bridge ?? nodes[Math.floor(nodes.length / 2)]!;
      assertKnown(nodes, [bridge]);
      const others = nodes.filter((node) => node !== bridge);
      const middle = Math.ceil(others.length / 2);
      const left = others.slice(0, middle);
      const right = others.slice(middle);
      const cut = cutBetween([left, right]);
      return {
        description: `bridge ${left.join(",")} <-> ${bridge} <-> ${right.join(",")}`,
        groups: [
          [...left, bridge],
          [bridge, ...right],
        ],
        cut,
      };
    }
    case "ring": {
      // Each node keeps links to its two ring neighbours only: every node sees a majority
      // of 3 in a 5-node cluster, yet no two nodes see the same majority.
      const cut: DirectedLink[] = [];
      nodes.forEach((from, index) => {
        const neighbours = new Set([
          nodes[(index + 1) % nodes.length],
          nodes[(index - 1 + nodes.length) % nodes.length],
        ]);
        for (const to of nodes) if (to !== from && !neighbours.has(to)) cut.push({ from, to });
      });
      return { description: `ring ${nodes.join("-")}-${nodes[0]}`, groups: [], cut };
    }
    case "one-way": {
      assertKnown(nodes, [shape.from, shape.to]);
      return {
        description: `one-way ${shape.from} -/-> ${shape.to}`,
        groups: [],
        cut: [{ from: shape.from, to: shape.to }],
      };
    }
    case "split": {
      const named = shape.groups.flat();
      assertKnown(nodes, named);
      if (new Set(named).size !== named.length) {
        throw new RangeError(
          `Expected each node in one group only, got ${describeGroups(shape.groups)}`,
        );
      }
      const rest = nodes.filter((node) => !named.includes(node));
      const groups = rest.length > 0 ? [...shape.groups, rest] : shape.groups;
      return { description: `split ${describeGroups(groups)}`, groups, cut: cutBetween(groups) };
    }
  }
}

/** Parses a named split as the CLI takes it: "n1,n2|n3,n4,n5" or ["n1,n2", "n3,n4,n5"]. */
export function parseSplit(groups: string | string[]): PartitionShape {
  const parts = (Array.isArray(groups) ? groups : groups.split("|"))
    .map((group) =>
      group
        .split(",")
        .map((node) => node.trim())
        .filter((node) => node.length > 0),
    )
    .filter((group) => group.length > 0);
  if (parts.length < 1)
    throw new RangeError(`Expected groups like n1,n2|n3,n4,n5, got ${String(groups)}`);
  return { kind: "split", groups: parts };
}

/** A seeded choice of shape, for schedules: `pick(n)` returns an integer in [0, n). */
export function randomShape(nodes: string[], pick: (bound: number) => number): PartitionShape {
  const kinds = ["halves", "majority-minority", "isolate", "bridge", "ring"] as const;
  const kind = kinds[pick(kinds.length)]!;
  switch (kind) {
    case "isolate":
      return { kind, node: nodes[pick(nodes.length)]! };
    case "majority-minority": {
      const shuffled = [...nodes];
      for (let index = shuffled.length - 1; index > 0; index -= 1) {
        const other = pick(index + 1);
        [shuffled[index], shuffled[other]] = [shuffled[other]!, shuffled[index]!];
      }
      return { kind, minority: shuffled.slice(0, Math.floor((nodes.length - 1) / 2)).sort() };
    }
    default:
      return { kind };
  }
}
