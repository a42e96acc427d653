// The live dashboard (lesson 10, monitoring for five nines; lesson 3, network splits): the
// cluster `npm start` runs, seen through the local API of cli/dashboard.ts. It shows
// the ring, each node's view of its peers, requests and alarms over time, and buttons for the
// nemeses, with the history of what was injected (the cluster's own nemesis.jsonl). It polls
// every two seconds; everything it sends goes through the CLI's nemesis functions.

import { faultInWords } from "../../chaos/checkers/report.ts";
import { colourOf, element, errorMessage, labelled, svgElement } from "./dom.ts";
// The samples' shape is the server's (a type only: nothing of the server reaches the page).
import type { Sample } from "../server/dashboard.ts";

interface ClusterInfo {
  dataDir: string;
  toxiproxy: boolean;
  nodes: { id: string; httpUrl: string; clientUrl?: string }[];
}
interface Ring {
  partitionCount: number;
  owners: string[];
  members?: string[];
  ownership?: Record<string, number>;
}
interface MemberView {
  id: string;
  up: boolean;
  view?: { node: string; up: boolean; silenceMs: number | null }[];
}
interface NemesisEntry {
  time?: number;
  type?: string;
  f?: string;
  value?: unknown;
}

const pollMs = 2_000;
const app = document.querySelector<HTMLElement>("#app")!;

async function api<T>(path: string, body?: unknown): Promise<T> {
  const response = await fetch(
    path,
    body === undefined
      ? {}
      : {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
        },
  );
  const parsed = (await response.json()) as T & { detail?: string };
  if (!response.ok) throw new Error(parsed.detail ?? `HTTP ${response.status}`);
  return parsed;
}

const status = element("p", { "aria-live": "polite", class: "dashboard-status" });
const ringView = element("div", { class: "dashboard-ring" });
const membersView = element("div", { class: "dashboard-members" });
const seriesView = element("div", { class: "dashboard-series" });
const nemesisList = element("ol", {
  class: "player-history dashboard-nemesis",
  "aria-label": "What was injected",
});
const nodeSelect = element("select", { name: "node" });
const groupsInput = element("input", {
  type: "text",
  name: "groups",
  value: "n1,n2|n3,n4,n5",
  size: 16,
});
const linkInput = element("input", { type: "text", name: "link", value: "n1->n2", size: 8 });
const latencyInput = element("input", { type: "number", name: "ms", value: 200, min: 0, size: 5 });
const offsetInput = element("input", { type: "text", name: "offset", value: "+30s", size: 6 });

function actionButton(
  action: string,
  text: string,
  body: () => Record<string, unknown>,
): HTMLButtonElement {
  const button = element("button", { type: "button", "data-action": action }, text);
  button.addEventListener("click", () => {
    status.textContent = `${text}...`;
    api<{ line: string }>("api/nemesis", { action, ...body() })
      .then((answer) => {
        status.textContent = answer.line;
        return refresh();
      })
      .catch((error: unknown) => (status.textContent = `Refused: ${errorMessage(error)}`));
  });
  return button;
}

app.append(
  element("h2", {}, "Break it"),
  element(
    "div",
    { class: "controls" },
    labelled("groups", groupsInput),
    actionButton("partition", "Partition", () => ({ groups: groupsInput.value })),
    actionButton("heal", "Heal", () => ({})),
    actionButton("reset", "Reset everything", () => ({})),
  ),
  element(
    "div",
    { class: "controls" },
    labelled("node", nodeSelect),
    actionButton("kill", "Kill", () => ({ node: nodeSelect.value })),
    actionButton("restart", "Restart", () => ({ node: nodeSelect.value })),
    actionButton("pause", "Pause", () => ({ node: nodeSelect.value })),
    actionButton("resume", "Resume", () => ({ node: nodeSelect.value })),
    labelled("offset", offsetInput),
    actionButton("skew", "Skew clock", () => ({
      node: nodeSelect.value,
      offset: offsetInput.value,
    })),
  ),
  element(
    "div",
    { class: "controls" },
    labelled("link", linkInput),
    labelled("ms", latencyInput),
    actionButton("latency", "Add latency", () => ({
      link: linkInput.value,
      ms: Number(latencyInput.value),
    })),
  ),
  status,
  element(
    "div",
    { class: "dashboard-grid" },
    element("section", {}, element("h2", {}, "Ring"), ringView),
    element("section", {}, element("h2", {}, "Members, as each node sees them"), membersView),
  ),
  element("h2", {}, "Requests and alarms over time"),
  seriesView,
  element("h2", {}, "What was injected"),
  nemesisList,
);

function drawRing(ring: Ring, nodes: string[]): void {
  const widthPx = 640;
  const cellPx = widthPx / ring.partitionCount;
  const svg = svgElement(
    "svg",
    {
      viewBox: `0 0 ${widthPx} 40`,
      width: widthPx,
      height: 40,
      role: "img",
      "aria-label": `The ring: ${ring.partitionCount} partitions by owner`,
    },
    ...ring.owners.map((owner, partition) =>
      svgElement(
        "rect",
        {
          x: partition * cellPx,
          y: 0,
          width: Math.max(1, cellPx - 0.5),
          height: 40,
          fill: colourOf(nodes.indexOf(owner)),
        },
        svgElement("title", {}, `partition ${partition}: ${owner}`),
      ),
    ),
  );
  const counts = nodes.map((node, index) =>
    element(
      "li",
      {},
      element("span", { class: "swatch", style: `background:${colourOf(index)}` }),
      `${node}: ${ring.owners.filter((owner) => owner === node).length}`,
    ),
  );
  ringView.replaceChildren(svg, element("ul", { class: "ring-legend" }, ...counts));
}

function drawMembers(members: MemberView[], nodes: string[]): void {
  const header = element(
    "tr",
    {},
    element("th", { scope: "col" }, "node sees →"),
    ...nodes.map((node) => element("th", { scope: "col" }, node)),
  );
  const rows = members.map((member) => {
    const cells = nodes.map((peer) => {
      if (!member.up) return element("td", { class: "down" }, "-");
      if (peer === member.id) return element("td", {}, "self");
      const seen = member.view?.find((entry) => entry.node === peer);
      return element(
        "td",
        { class: seen?.up === false ? "down" : "up" },
        seen === undefined ? "?" : seen.up ? "up" : "down",
      );
    });
    return element(
      "tr",
      { "data-node": member.id },
      element("th", { scope: "row" }, `${member.id}${member.up ? "" : " (not answering)"}`),
      ...cells,
    );
  });
  membersView.replaceChildren(element("table", { class: "members-table" }, header, ...rows));
}

function drawSeries(samples: Sample[], nodes: string[]): void {
  const recent = samples.slice(-120);
  const widthPx = 240;
  const heightPx = 50;
  const charts = nodes.map((node, index) => {
    const rates = recent.slice(1).map((sample, position) => {
      const now = sample.nodes.find((entry) => entry.id === node);
      const before = recent[position]!.nodes.find((entry) => entry.id === node);
      const seconds = Math.max(0.001, (sample.timeMs - recent[position]!.timeMs) / 1000);
      return {
        ok: now && before ? Math.max(0, now.requestsOk - before.requestsOk) / seconds : 0,
        failed:
          now && before ? Math.max(0, now.requestsFailed - before.requestsFailed) / seconds : 0,
        up: now?.up ?? false,
      };
    });
    const max = Math.max(1, ...rates.map((rate) => rate.ok + rate.failed));
    const x = (position: number) => (position / Math.max(1, rates.length - 1)) * widthPx;
    const path = (pick: (rate: (typeof rates)[number]) => number) =>
      rates
        .map(
          (rate, position) =>
            `${position === 0 ? "M" : "L"}${x(position).toFixed(1)} ${(heightPx - (pick(rate) / max) * heightPx).toFixed(1)}`,
        )
        .join(" ");
    const last = recent.at(-1)?.nodes.find((entry) => entry.id === node);
    return element(
      "figure",
      { class: "series" },
      svgElement(
        "svg",
        {
          viewBox: `0 0 ${widthPx} ${heightPx}`,
          width: widthPx,
          height: heightPx,
          role: "img",
          "aria-label": `${node}: requests per second`,
        },
        ...rates.flatMap((rate, position) =>
          rate.up
            ? []
            : [
                svgElement("rect", {
                  x: x(position),
                  y: 0,
                  width: Math.max(2, widthPx / Math.max(1, rates.length)),
                  height: heightPx,
                  fill: "#f3d3d0",
                }),
              ],
        ),
        svgElement("path", {
          d: path((rate) => rate.ok),
          fill: "none",
          stroke: colourOf(index),
          "stroke-width": 1.5,
        }),
        svgElement("path", {
          d: path((rate) => rate.failed),
          fill: "none",
          stroke: "#b42318",
          "stroke-width": 1.5,
          "stroke-dasharray": "3 2",
        }),
      ),
      element(
        "figcaption",
        {},
        `${node}: ${last?.up ? "up" : "down"}, ${last?.keys ?? 0} keys, ${last?.hintsPending ?? 0} hints, alarms: ${last?.alarms.join(", ") || "none"}`,
      ),
    );
  });
  seriesView.replaceChildren(
    element(
      "p",
      { class: "muted" },
      "Requests per second each node coordinated: ok (solid), failed (dashed, red); red background while the node did not answer.",
    ),
    element("div", { class: "series-grid" }, ...charts),
  );
}

function drawNemesis(entries: NemesisEntry[]): void {
  nemesisList.replaceChildren(
    ...entries.map((entry) => {
      const when = typeof entry.time === "number" ? `${(entry.time / 1e9).toFixed(1)} s` : "";
      const f = entry.f ?? "";
      const value =
        entry.value === undefined || entry.value === null ? "" : ` ${JSON.stringify(entry.value)}`;
      const words = f.startsWith("start-")
        ? faultInWords(f.slice("start-".length), entry.value)
        : f.startsWith("stop-")
          ? `end of ${faultInWords(f.slice("stop-".length), entry.value)}`
          : `${f}${value}`;
      return element(
        "li",
        { class: entry.type === "invoke" ? "nemesis" : "" },
        `${when.padStart(9)}  ${(entry.type ?? "").padEnd(6)} ${words}`,
      );
    }),
  );
  app.dataset.nemesisCount = String(entries.length);
}

let nodes: string[] = [];
async function refresh(): Promise<void> {
  const cluster = await api<ClusterInfo>("api/cluster");
  const ids = cluster.nodes.map((node) => node.id);
  if (ids.join() !== nodes.join()) {
    nodes = ids;
    nodeSelect.replaceChildren(...ids.map((id) => element("option", { value: id }, id)));
  }
  const [ring, members, samples, nemesis] = await Promise.all([
    api<Ring>("api/ring").catch(() => undefined),
    api<MemberView[]>("api/members"),
    api<Sample[]>("api/series"),
    api<NemesisEntry[]>("api/nemesis"),
  ]);
  if (ring !== undefined) drawRing(ring, ids);
  drawMembers(members, ids);
  drawSeries(samples, ids);
  drawNemesis(nemesis);
  app.dataset.ready = "true";
}

function loop(): void {
  refresh()
    .catch((error: unknown) => {
      status.textContent = `No cluster to show: ${errorMessage(error)}. Start one with npm start and open the address it prints.`;
      app.dataset.error = errorMessage(error);
    })
    .finally(() => setTimeout(loop, pollMs));
}
loop();
