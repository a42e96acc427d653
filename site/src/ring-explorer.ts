// The ring explorer (lesson 4, the ring: hash(SessionId) -> key range -> vnode -> node). Type a
// bucket and a key and follow it: SHA-1 of "bucket/key" is a point on a circle of 2^160 points,
// the circle is cut into Q partitions (vnodes), the partition's owner is the first replica, and
// walking clockwise to the next distinct owners gives the preference list. Change Q, the node
// count or N and the drawing redraws; the line under it says how many partitions changed owner.
// The opening state is the talk's: 32 vnodes on 4 nodes, N = 3.
//
// Everything is computed with the cluster's own functions (cluster/core/ring.ts and claim.ts):
// a fresh cluster of the same nodes, Q and N answers /ring/keys/:bucket/:key with the same
// preference list (site/browser.test.ts checks it against real processes).

import {
  createRing,
  hashKey,
  keyspaceBits,
  partitionOf,
  preferenceList,
  type Ring,
} from "../../cluster/core/ring.ts";
import { colourOf, element, errorMessage, labelled, nodeNames, svgElement } from "./dom.ts";

export interface RingState {
  bucket: string;
  key: string;
  partitionCount: number;
  nodeCount: number;
  replicaCount: number;
}

export const talkOpeningState: RingState = {
  bucket: "sessions",
  key: "alice",
  partitionCount: 32,
  nodeCount: 4,
  replicaCount: 3,
};

export interface KeyPlacement {
  hashHex: string;
  partition: number;
  owner: string;
  preferenceList: string[];
  primaries: { node: string; partition: number }[];
  fallbacks: string[];
  /** Where the key sits on the circle, from 0 (top) to 1, clockwise. */
  turn: number;
}

/** Where a key lives on a ring: what the explorer shows, and what /ring/keys answers. */
export function placeKey(
  ring: Ring,
  bucket: string,
  key: string,
  replicaCount: number,
): KeyPlacement {
  const hash = hashKey(bucket, key);
  const list = preferenceList(ring, hash, replicaCount);
  const partition = partitionOf(hash, ring.partitionCount);
  return {
    hashHex: hash.toString(16).padStart(40, "0"),
    partition,
    owner: ring.owners[partition]!,
    preferenceList: list.primaries.map((entry) => entry.node),
    primaries: list.primaries,
    fallbacks: list.fallbacks,
    turn: Number(hash >> BigInt(keyspaceBits - 32)) / 2 ** 32,
  };
}

export function ringFor(state: RingState): Ring {
  return createRing(nodeNames(state.nodeCount), state.partitionCount, state.replicaCount);
}

const partitionCounts = [8, 16, 32, 64, 128, 256, 512, 1024];
const nodeCountMaxShown = 16;
const sizePx = 360;
const radiusPx = 140;
const ringWidthPx = 34;

function point(turn: number, radius: number): [number, number] {
  const angle = turn * 2 * Math.PI - Math.PI / 2;
  return [sizePx / 2 + radius * Math.cos(angle), sizePx / 2 + radius * Math.sin(angle)];
}

function arcPath(startTurn: number, endTurn: number, outer: number, inner: number): string {
  const [x1, y1] = point(startTurn, outer);
  const [x2, y2] = point(endTurn, outer);
  const [x3, y3] = point(endTurn, inner);
  const [x4, y4] = point(startTurn, inner);
  const large = endTurn - startTurn > 0.5 ? 1 : 0;
  const f = (value: number) => value.toFixed(2);
  return `M${f(x1)} ${f(y1)} A${outer} ${outer} 0 ${large} 1 ${f(x2)} ${f(y2)} L${f(x3)} ${f(y3)} A${inner} ${inner} 0 ${large} 0 ${f(x4)} ${f(y4)} Z`;
}

function drawRing(svg: SVGSVGElement, ring: Ring, placement: KeyPlacement, nodes: string[]): void {
  const count = ring.partitionCount;
  const primaryPartitions = new Set(placement.primaries.map((entry) => entry.partition));
  const children: SVGElement[] = [];
  for (let partition = 0; partition < count; partition += 1) {
    const owner = ring.owners[partition]!;
    const highlighted = primaryPartitions.has(partition);
    const path = svgElement(
      "path",
      {
        d: arcPath(
          partition / count,
          (partition + 1) / count,
          radiusPx + (highlighted ? 10 : 0),
          radiusPx - ringWidthPx,
        ),
        fill: colourOf(nodes.indexOf(owner)),
        stroke: "#fff",
        "stroke-width": count > 256 ? 0 : 1,
        class: highlighted ? "partition replica" : "partition",
        "data-partition": partition,
      },
      svgElement(
        "title",
        {},
        `partition ${partition}: owned by ${owner}${highlighted ? " (holds a replica of the key)" : ""}`,
      ),
    );
    children.push(path);
  }
  const [keyX, keyY] = point(placement.turn, radiusPx - ringWidthPx - 14);
  const [edgeX, edgeY] = point(placement.turn, radiusPx + 14);
  children.push(
    svgElement("line", {
      x1: sizePx / 2,
      y1: sizePx / 2,
      x2: edgeX,
      y2: edgeY,
      stroke: "#111",
      "stroke-width": 2,
    }),
    svgElement(
      "circle",
      { cx: keyX, cy: keyY, r: 6, fill: "#111" },
      svgElement("title", {}, `the key, at 0x${placement.hashHex.slice(0, 10)}…`),
    ),
    svgElement(
      "text",
      { x: sizePx / 2, y: sizePx / 2 - 6, "text-anchor": "middle", "font-size": 14, fill: "#111" },
      `partition ${placement.partition}`,
    ),
    svgElement(
      "text",
      { x: sizePx / 2, y: sizePx / 2 + 14, "text-anchor": "middle", "font-size": 14, fill: "#111" },
      `owner ${placement.owner}`,
    ),
  );
  svg.replaceChildren(...children);
}

/** Reads the state from a URL query (?q=64&nodes=5&n=3&bucket=b&key=k), for shareable links. */
export function stateFromQuery(search: string, fallback: RingState = talkOpeningState): RingState {
  const query = new URLSearchParams(search);
  const integer = (name: string, value: number) => {
    const parsed = Number(query.get(name));
    return query.has(name) && Number.isSafeInteger(parsed) ? parsed : value;
  };
  return {
    bucket: query.get("bucket") ?? fallback.bucket,
    key: query.get("key") ?? fallback.key,
    partitionCount: integer("q", fallback.partitionCount),
    nodeCount: integer("nodes", fallback.nodeCount),
    replicaCount: integer("n", fallback.replicaCount),
  };
}

export function mountRingExplorer(
  container: HTMLElement,
  initial: RingState = talkOpeningState,
): void {
  const bucketInput = element("input", {
    type: "text",
    value: initial.bucket,
    size: 10,
    name: "bucket",
  });
  const keyInput = element("input", { type: "text", value: initial.key, size: 16, name: "key" });
  const qSelect = element(
    "select",
    { name: "q" },
    ...partitionCounts.map((q) =>
      element("option", { value: q, selected: q === initial.partitionCount }, String(q)),
    ),
  );
  const nodesInput = element("input", {
    type: "number",
    min: 1,
    max: nodeCountMaxShown,
    value: initial.nodeCount,
    name: "nodes",
  });
  const nInput = element("input", {
    type: "number",
    min: 1,
    max: 16,
    value: initial.replicaCount,
    name: "n",
  });
  const svg = svgElement("svg", {
    viewBox: `0 0 ${sizePx} ${sizePx}`,
    width: sizePx,
    height: sizePx,
    role: "img",
    "aria-label": "The ring: partitions coloured by owner, the key marked",
  }) as SVGSVGElement;
  const facts = element("dl", { class: "ring-facts" });
  const legend = element("ul", { class: "ring-legend" });
  const moved = element("p", { class: "muted", "aria-live": "polite" });
  const error = element("p", { class: "error", role: "alert" });
  container.append(
    element(
      "div",
      { class: "controls" },
      labelled("bucket", bucketInput),
      labelled("key", keyInput),
      labelled("Q (partitions)", qSelect),
      labelled("nodes", nodesInput),
      labelled("N", nInput),
    ),
    element("div", { class: "ring-view" }, svg, element("div", {}, facts, legend, moved)),
    error,
  );
  container.classList.add("ring-explorer");
  let previous: Ring | undefined;
  const update = () => {
    try {
      const state: RingState = {
        bucket: bucketInput.value,
        key: keyInput.value,
        partitionCount: Number(qSelect.value),
        nodeCount: Number(nodesInput.value),
        replicaCount: Number(nInput.value),
      };
      if (!(state.nodeCount >= 1 && state.nodeCount <= nodeCountMaxShown)) {
        throw new RangeError(
          `Expected \`nodes\` to be an integer from 1 to ${nodeCountMaxShown}, got ${nodesInput.value}`,
        );
      }
      const ring = ringFor(state);
      const nodes = nodeNames(state.nodeCount);
      const replicaCount = Math.min(state.replicaCount, state.nodeCount);
      const placement = placeKey(ring, state.bucket, state.key, replicaCount);
      drawRing(svg, ring, placement, nodes);
      const rows: [string, string, string][] = [
        ["hash", "SHA-1 of bucket/key", `0x${placement.hashHex}`],
        [
          "partition",
          "partition (vnode)",
          `${placement.partition} of ${state.partitionCount}: the top ${Math.log2(state.partitionCount)} bits of the hash`,
        ],
        ["owner", "owner", placement.owner],
        [
          "preference-list",
          `preference list (N = ${replicaCount})`,
          placement.preferenceList.join(", "),
        ],
        ["fallbacks", "fallbacks (sloppy quorum)", placement.fallbacks.join(", ") || "none"],
      ];
      facts.replaceChildren(
        ...rows.flatMap(([field, term, value]) => [
          element("dt", {}, term),
          element("dd", { "data-field": field }, value),
        ]),
      );
      legend.replaceChildren(
        ...nodes.map((node, index) => {
          const owned = ring.owners.filter((owner) => owner === node).length;
          return element(
            "li",
            {},
            element("span", { class: "swatch", style: `background:${colourOf(index)}` }),
            `${node}: ${owned} partitions`,
          );
        }),
      );
      if (previous !== undefined && previous.partitionCount === ring.partitionCount) {
        const changed = ring.owners.filter(
          (owner, index) => previous!.owners[index] !== owner,
        ).length;
        moved.textContent = `${changed} of ${ring.partitionCount} partitions changed owner since the last ring.`;
      } else moved.textContent = "";
      previous = ring;
      error.textContent = "";
      container.dataset.preferenceList = placement.preferenceList.join(",");
    } catch (caught) {
      error.textContent = errorMessage(caught);
    }
  };
  for (const control of [bucketInput, keyInput, qSelect, nodesInput, nInput])
    control.addEventListener("input", update);
  update();
}
