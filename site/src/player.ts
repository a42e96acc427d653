// The simulation player (lesson 3, network splits; lesson 5, systems that never stop): a
// RaftScope-style view of a simulated 5-node cluster. Play, pause, single-step, change the
// speed, or drag the time slider to seek (a seek replays the run from its seed). Click a node
// to crash, restart, pause or resume it or to skew its clock; split the network into groups or
// cut one link. The history fills in beside the drawing and the set checker's verdict appears
// at the end. "Copy as command" gives the `npx neverstop test ...` line that runs the same
// thing, the learner's interventions included as a --schedule; "replay this run" is a link.

import { formatSchedule, parseSchedule } from "../../chaos/harness/fault-schedule.ts";
import type { Fault, ScheduledFault } from "../../chaos/harness/faults.ts";
import { partition, parseSplit } from "../../chaos/nemesis/partitions.ts";
import { nodeIds, replayCommand, type RunOptions } from "../../chaos/harness/run-options.ts";
import { renderReport } from "../../chaos/checkers/report.ts";
import { describeValue } from "../../chaos/checkers/history-view.ts";
import type { Operation } from "../../chaos/harness/history.ts";
import { element, errorMessage, labelled, svgElement } from "./dom.ts";
import {
  addIntervention,
  endIntervention,
  frameMs,
  PlayerRun,
  scenarioNames,
  scenarioOptions,
  type Frame,
  type ScenarioName,
} from "./player-model.ts";

export interface PlayerSettings {
  scenario: string;
  seed?: number;
  schedule?: string;
}

const speeds = [0.25, 1, 4, 16, 64];
const sizePx = 340;
const nodeRadiusPx = 26;
const historyLinesMax = 250;

function position(index: number, count: number): { x: number; y: number } {
  const angle = (2 * Math.PI * index) / count - Math.PI / 2;
  const radius = sizePx / 2 - nodeRadiusPx - 34;
  return { x: sizePx / 2 + radius * Math.cos(angle), y: sizePx / 2 + radius * Math.sin(angle) };
}

function operationLine(operation: Operation): string {
  const seconds = (operation.time / 1e9).toFixed(3);
  const value = operation.value === null ? "" : ` ${describeValue(operation.value)}`;
  return `${seconds} s  ${String(operation.process).padEnd(7)} ${operation.type.padEnd(6)} ${operation.f}${value}`;
}

export function mountPlayer(container: HTMLElement, settings: PlayerSettings): void {
  const scenario = (scenarioNames as readonly string[]).includes(settings.scenario)
    ? (settings.scenario as ScenarioName)
    : "partition";
  const seed = settings.seed ?? 42;
  let schedule: ScheduledFault[] = [];
  let options: RunOptions = scenarioOptions(scenario, seed);
  if (settings.schedule !== undefined && settings.schedule !== "") {
    schedule = parseSchedule(settings.schedule, nodeIds(options.cluster.nodes));
    options = scenarioOptions(scenario, seed, schedule);
  }
  let player = new PlayerRun(options);
  let playing = false;
  let speedIndex = 1;
  let selected: string | undefined;
  let historyShown = 0;

  // --- controls ---
  const playButton = element("button", { type: "button", "data-action": "play" }, "Play");
  const stepButton = element("button", { type: "button", "data-action": "step" }, "Step");
  const speedSelect = element(
    "select",
    { name: "speed" },
    ...speeds.map((speed, index) =>
      element("option", { value: index, selected: index === speedIndex }, `${speed}×`),
    ),
  );
  const endMs = options.timeMs + 2_000;
  const slider = element("input", {
    type: "range",
    min: 0,
    max: endMs,
    step: frameMs,
    value: 0,
    name: "time",
    "aria-label": "Simulated time",
  });
  const clock = element("output", { class: "clock", "aria-live": "off" }, "0.0 s");
  const seedInput = element("input", {
    type: "number",
    min: 0,
    value: seed,
    name: "seed",
    size: 8,
  });
  const scenarioSelect = element(
    "select",
    { name: "scenario" },
    ...scenarioNames.map((name) =>
      element("option", { value: name, selected: name === scenario }, name),
    ),
  );
  const loadButton = element("button", { type: "button" }, "Load");
  // --- drawing and panels ---
  const svg = svgElement("svg", {
    viewBox: `0 0 ${sizePx} ${sizePx}`,
    width: sizePx,
    height: sizePx,
    role: "group",
    "aria-label": "The cluster: nodes (choose one to crash, pause or skew it), links and messages",
  }) as SVGSVGElement;
  const nodeTable = element("table", { class: "node-table" });
  const nodePanel = element("div", { class: "node-panel", "aria-live": "polite" });
  const splitInput = element("input", {
    type: "text",
    value: "n1,n2|n3,n4,n5",
    name: "groups",
    size: 16,
  });
  const cutFrom = element(
    "select",
    { name: "cut-from" },
    ...["n1", "n2", "n3", "n4", "n5"].map((node) => element("option", { value: node }, node)),
  );
  const cutTo = element(
    "select",
    { name: "cut-to" },
    ...["n1", "n2", "n3", "n4", "n5"].map((node) =>
      element("option", { value: node, selected: node === "n2" }, node),
    ),
  );
  const splitButton = element("button", { type: "button", "data-action": "split" }, "Split");
  const cutButton = element("button", { type: "button", "data-action": "cut" }, "Cut link");
  const healButton = element("button", { type: "button", "data-action": "heal" }, "Heal");
  const historyList = element("ol", { class: "player-history", "aria-label": "History" });
  const status = element("p", { class: "player-status", "aria-live": "polite" });
  const verdict = element("div", { class: "player-verdict" });
  const command = element("code", { class: "player-command" });
  const copyButton = element("button", { type: "button" }, "Copy as command");
  const replayLink = element("a", { href: "#" }, "Replay this run");
  const error = element("p", { class: "error", role: "alert" });

  container.classList.add("player");
  container.append(
    element(
      "div",
      { class: "controls" },
      playButton,
      stepButton,
      labelled("speed", speedSelect),
      labelled("time", slider),
      clock,
    ),
    element(
      "div",
      { class: "controls" },
      labelled("scenario", scenarioSelect),
      labelled("seed", seedInput),
      loadButton,
      replayLink,
    ),
    element(
      "div",
      { class: "player-main" },
      element("div", { class: "player-drawing" }, svg, nodePanel),
      element(
        "div",
        { class: "player-side" },
        nodeTable,
        element("h3", {}, "History"),
        historyList,
      ),
    ),
    element(
      "div",
      { class: "controls" },
      labelled("groups", splitInput),
      splitButton,
      labelled("cut", cutFrom),
      labelled("to", cutTo),
      cutButton,
      healButton,
    ),
    status,
    verdict,
    element("p", {}, copyButton, " ", command),
    error,
  );

  const nodes = (): string[] => player.run.simulation.nodeIds();

  function draw(frame: Frame): void {
    const ids = frame.nodes.map((node) => node.id);
    const where = new Map(ids.map((id, index) => [id, position(index, ids.length)]));
    const cut = new Set(frame.cutLinks);
    const parts: SVGElement[] = [];
    for (const [index, from] of ids.entries()) {
      for (const to of ids.slice(index + 1)) {
        const a = where.get(from)!;
        const b = where.get(to)!;
        const both = cut.has(`${from}->${to}`) && cut.has(`${to}->${from}`);
        const one = cut.has(`${from}->${to}`) || cut.has(`${to}->${from}`);
        parts.push(
          svgElement(
            "line",
            {
              x1: a.x,
              y1: a.y,
              x2: b.x,
              y2: b.y,
              class: both ? "link cut" : one ? "link one-way" : "link",
            },
            svgElement(
              "title",
              {},
              `${from} - ${to}${both ? ": cut" : one ? ": cut one way" : ""}`,
            ),
          ),
        );
      }
    }
    for (const link of frame.traffic) {
      const a = where.get(link.from);
      const b = where.get(link.to);
      if (a === undefined || b === undefined) continue;
      const total = link.delivered + link.dropped + link.refused;
      const fraction = 0.62;
      const x = a.x + (b.x - a.x) * fraction;
      const y = a.y + (b.y - a.y) * fraction;
      const kind = link.dropped + link.refused > link.delivered ? "lost" : "delivered";
      if (total > 0)
        parts.push(
          svgElement(
            "circle",
            { cx: x, cy: y, r: Math.min(7, 2 + Math.sqrt(total)), class: `message ${kind}` },
            svgElement(
              "title",
              {},
              `${link.from} → ${link.to} in the last ${frameMs} ms: ${link.delivered} delivered, ${link.dropped} dropped, ${link.refused} refused (${link.types.join(", ")})`,
            ),
          ),
        );
      if (link.inFlight > 0)
        parts.push(
          svgElement(
            "circle",
            {
              cx: a.x + (b.x - a.x) * 0.4,
              cy: a.y + (b.y - a.y) * 0.4,
              r: 4,
              class: "message in-flight",
            },
            svgElement("title", {}, `${link.inFlight} in flight ${link.from} → ${link.to}`),
          ),
        );
    }
    for (const node of frame.nodes) {
      const { x, y } = where.get(node.id)!;
      const state = !node.up ? "crashed" : node.paused ? "paused" : "up";
      const group = svgElement(
        "g",
        {
          class: `node ${state}${selected === node.id ? " selected" : ""}`,
          "data-node": node.id,
          tabindex: 0,
          role: "button",
          "aria-label": `${node.id} (${state})`,
        },
        svgElement("circle", { cx: x, cy: y, r: nodeRadiusPx }),
        svgElement("text", { x, y: y + 5, "text-anchor": "middle" }, node.id),
      );
      parts.push(
        svgElement(
          "text",
          { x, y: y + nodeRadiusPx + 14, "text-anchor": "middle", class: "node-note" },
          state === "up" ? `${node.keyCount} ${node.keyCount === 1 ? "key" : "keys"}` : state,
        ),
      );
      group.addEventListener("click", () => selectNode(node.id));
      group.addEventListener("keydown", (event) => {
        if ((event as KeyboardEvent).key === "Enter" || (event as KeyboardEvent).key === " ")
          selectNode(node.id);
      });
      parts.push(group);
    }
    svg.replaceChildren(...parts);
    nodeTable.replaceChildren(
      element("caption", {}, "Each node now"),
      element(
        "tr",
        {},
        ...["node", "state", "keys", "hints", "peers down", "clock", "alarms"].map((name) =>
          element("th", { scope: "col" }, name),
        ),
      ),
      ...frame.nodes.map((node) =>
        element(
          "tr",
          { "data-node": node.id },
          element("th", { scope: "row" }, node.id),
          element("td", {}, !node.up ? "crashed" : node.paused ? "paused" : "up"),
          element("td", {}, String(node.keyCount)),
          element("td", {}, String(node.hintsPending)),
          element("td", {}, String(node.peersDown)),
          element(
            "td",
            {},
            node.clockOffsetMs === 0
              ? "0"
              : `${node.clockOffsetMs > 0 ? "+" : ""}${(node.clockOffsetMs / 1000).toFixed(1)} s`,
          ),
          element("td", {}, node.alarms.map((alarm) => alarm.name).join(", ") || "-"),
        ),
      ),
    );
    clock.textContent = `${(frame.timeMs / 1000).toFixed(1)} s`;
    slider.value = String(frame.timeMs);
    status.textContent = `${(frame.timeMs / 1000).toFixed(1)} s: ${frame.operationCount} history records; ${frame.activeFault ?? "no fault"}${frame.finished ? "; finished" : ""}`;
    container.dataset.timeMs = String(frame.timeMs);
    container.dataset.state = JSON.stringify({
      timeMs: frame.timeMs,
      nodes: frame.nodes,
      cutLinks: frame.cutLinks,
      operationCount: frame.operationCount,
    });
  }

  function drawHistory(): void {
    const history = player.history;
    if (history.length < historyShown) {
      historyList.replaceChildren();
      historyShown = 0;
    }
    const fresh = history.slice(Math.max(historyShown, history.length - historyLinesMax));
    for (const operation of fresh) {
      historyList.append(
        element(
          "li",
          { class: `op-${operation.type}${operation.process === "nemesis" ? " nemesis" : ""}` },
          operationLine(operation),
        ),
      );
    }
    historyShown = history.length;
    while (historyList.childElementCount > historyLinesMax) historyList.firstElementChild?.remove();
    historyList.scrollTop = historyList.scrollHeight;
  }

  function showEnd(): void {
    if (!player.finished) {
      verdict.replaceChildren();
      delete container.dataset.verdict;
      return;
    }
    const result = player.result();
    const valid = result.summary.verdict;
    const words = valid === true ? "valid" : valid === false ? "INVALID" : "unknown";
    const reason = String(result.results["set"]?.["reason"] ?? "");
    const reportButton = element("button", { type: "button" }, "Open the full report");
    reportButton.addEventListener("click", () => {
      const html = renderReport({
        title: `${options.name} seed ${seed}`,
        parameters: {
          workload: options.workload,
          seed,
          backend: "sim",
          nemesis: options.nemesis.faults.join(",") || "none",
          replayCommand: replayCommand(options),
        },
        history: result.history,
        results: result.results as never,
      });
      window.open(
        URL.createObjectURL(new Blob([html], { type: "text/html" })),
        "_blank",
        "noopener",
      );
    });
    verdict.replaceChildren(
      element(
        "p",
        {},
        "Set checker: ",
        element(
          "span",
          {
            class: `verdict ${valid === true ? "valid" : valid === false ? "invalid" : "unknown"}`,
          },
          words,
        ),
        ` ${reason}`,
      ),
      reportButton,
    );
    container.dataset.verdict = String(valid);
  }

  function refresh(): void {
    draw(player.frame());
    drawHistory();
    showEnd();
    command.textContent = replayCommand(options);
    const query = new URLSearchParams({ scenario, seed: String(seed) });
    if (schedule.length > 0) query.set("schedule", formatSchedule(schedule));
    replayLink.href = `${new URL("player.html", document.baseURI.includes("/lessons/") ? new URL("../", document.baseURI) : document.baseURI).pathname}?${query}`;
  }

  /** Replays from the seed to `timeMs`: a seek, or the new run after an intervention. */
  function seek(timeMs: number): void {
    player = PlayerRun.at(options, Math.max(0, Math.round(timeMs / frameMs) * frameMs));
    refresh();
  }

  function intervene(change: (nowMs: number) => ScheduledFault[]): void {
    try {
      const nowMs = player.now;
      schedule = change(nowMs);
      options = scenarioOptions(scenario, seed, schedule);
      seek(nowMs);
      error.textContent = "";
    } catch (caught) {
      error.textContent = errorMessage(caught);
    }
  }

  const addFault = (fault: Fault) =>
    intervene((nowMs) => addIntervention(schedule, fault, nowMs, options.timeMs));
  const endFault = (matches: (fault: Fault) => boolean) =>
    intervene((nowMs) => endIntervention(schedule, matches, nowMs));

  function selectNode(id: string): void {
    selected = id;
    const offset = element("input", {
      type: "number",
      value: 30,
      step: 1,
      name: "skew-seconds",
      size: 5,
    });
    const button = (text: string, action: () => void) => {
      const made = element("button", { type: "button", "data-action": text.split(" ")[0]! }, text);
      made.addEventListener("click", action);
      return made;
    };
    nodePanel.replaceChildren(
      element("p", {}, element("strong", {}, id), ": "),
      button(`crash ${id}`, () => addFault({ name: "crash", node: id })),
      button(`restart ${id}`, () =>
        endFault((fault) => fault.name === "crash" && fault.node === id),
      ),
      button(`pause ${id}`, () => addFault({ name: "pause", node: id })),
      button(`resume ${id}`, () =>
        endFault((fault) => fault.name === "pause" && fault.node === id),
      ),
      labelled(" skew by (s)", offset),
      button(`skew ${id}`, () =>
        addFault({ name: "skew", node: id, offsetMs: Math.round(Number(offset.value) * 1000) }),
      ),
      button(`unskew ${id}`, () => endFault((fault) => fault.name === "skew" && fault.node === id)),
    );
    draw(player.frame());
  }

  splitButton.addEventListener("click", () =>
    intervene((nowMs) => {
      const split = partition(nodes(), parseSplit(splitInput.value));
      const cut = split.cut.map((link) => `${link.from}->${link.to}`).sort();
      return addIntervention(
        schedule,
        { name: "partition", description: split.description, how: "drop", cut },
        nowMs,
        options.timeMs,
      );
    }),
  );
  cutButton.addEventListener("click", () =>
    intervene((nowMs) => {
      if (cutFrom.value === cutTo.value)
        throw new RangeError("Expected two different nodes to cut the link between");
      return addIntervention(
        schedule,
        {
          name: "partition",
          description: `one-way ${cutFrom.value} -/-> ${cutTo.value}`,
          how: "drop",
          cut: [`${cutFrom.value}->${cutTo.value}`],
        },
        nowMs,
        options.timeMs,
      );
    }),
  );
  healButton.addEventListener("click", () => endFault((fault) => fault.name === "partition"));

  // --- playback ---
  let lastWallMs = 0;
  let owedMs = 0;
  function tick(wallMs: number): void {
    if (!playing) return;
    const elapsed = lastWallMs === 0 ? 0 : Math.min(250, wallMs - lastWallMs);
    lastWallMs = wallMs;
    owedMs += elapsed * speeds[speedIndex]!;
    let frames = 0;
    while (owedMs >= frameMs && !player.finished && frames < 200) {
      player.step();
      owedMs -= frameMs;
      frames += 1;
    }
    if (frames > 0) refresh();
    if (player.finished) return setPlaying(false);
    requestAnimationFrame(tick);
  }
  function setPlaying(on: boolean): void {
    playing = on && !player.finished;
    playButton.textContent = playing ? "Pause" : "Play";
    playButton.setAttribute("aria-pressed", String(playing));
    lastWallMs = 0;
    owedMs = 0;
    if (playing) requestAnimationFrame(tick);
  }
  playButton.addEventListener("click", () => setPlaying(!playing));
  stepButton.addEventListener("click", () => {
    setPlaying(false);
    player.step();
    refresh();
  });
  speedSelect.addEventListener("change", () => (speedIndex = Number(speedSelect.value)));
  slider.addEventListener("change", () => {
    setPlaying(false);
    seek(Number(slider.value));
  });
  copyButton.addEventListener("click", () => {
    void navigator.clipboard?.writeText(command.textContent ?? "").catch(() => {});
    copyButton.textContent = "Copied";
    setTimeout(() => (copyButton.textContent = "Copy as command"), 1500);
  });
  loadButton.addEventListener("click", () => {
    const parsed = Number(seedInput.value);
    if (!Number.isSafeInteger(parsed) || parsed < 0) {
      error.textContent = `Expected \`seed\` to be a whole number from 0, got ${JSON.stringify(seedInput.value)}`;
      return;
    }
    const chosen = scenarioSelect.value as ScenarioName;
    container.replaceChildren();
    mountPlayer(container, { scenario: chosen, seed: parsed });
  });
  refresh();
  // When the first frame was drawn, in page time (npm run bench:site reads it).
  container.dataset.firstFrameMs = String(performance.now());
  container.dataset.ready = "true";
  // The test hooks: run flat out to the end, or seek, without waiting for animation frames.
  (container as HTMLElement & { playerControl?: unknown }).playerControl = {
    runToEnd: () => {
      setPlaying(false);
      while (!player.finished) player.step();
      refresh();
    },
    seek,
    playTo: (timeMs: number) => {
      setPlaying(false);
      player.advanceTo(timeMs);
      refresh();
    },
  };
}
