// The nemesis vocabulary, its history records and its schedules (lessons 3 and 5), on the
// simulator backend (fast, deterministic) and on a recording fake: the same faults the local
// and docker backends apply to processes and proxies (local.test.ts runs those for real).
import { describe, expect, it } from "vitest";
import { Simulation } from "../../cluster/runtime/sim/simulator.ts";
import { clusterConfig } from "../../cluster/runtime/sim/testing.ts";
import { faultWindows } from "../checkers/history-view.ts";
import { HistoryRecorder } from "../harness/recorder.ts";
import { parseOffset, parseShape } from "../../cli/nemesis-commands.ts";
import {
  allLinkNames,
  checkLink,
  Nemesis,
  partitionFault,
  validateFault,
  type LinkToxic,
  type NemesisBackend,
  type NemesisFault,
} from "./nemesis.ts";
import { planSchedule, runSchedule, type ScheduleClock } from "./schedule.ts";
import type { DockerCluster } from "./docker/backend.ts";
import { containersOf } from "./docker.ts";
import { SimNemesisBackend } from "./sim.ts";
import { clientProxyPortOf, linkProxyPortOf, proxyPorts, toxiproxyPortOf } from "./topology.ts";

const nodes = ["n1", "n2", "n3", "n4", "n5"];

function simulation(): Simulation {
  return new Simulation({ config: clusterConfig(5), seed: 7 });
}

/** A backend that only writes down what it was asked to do. */
class RecordingBackend implements NemesisBackend {
  readonly kind = "local";
  readonly nodes = nodes;
  readonly calls: string[] = [];
  failOn: string | undefined;
  private note(call: string): Promise<void> {
    this.calls.push(call);
    return call === this.failOn ? Promise.reject(new Error(`${call} refused`)) : Promise.resolve();
  }
  cutLinks(links: readonly { from: string; to: string }[], how: string) {
    return this.note(`cut ${how} ${links.map((link) => `${link.from}->${link.to}`).join(" ")}`);
  }
  healLinks() {
    return this.note("heal");
  }
  addToxic(links: readonly string[], toxic: LinkToxic) {
    return this.note(`add ${toxic.kind} ${links.join(" ")}`);
  }
  removeToxic(links: readonly string[], kind: string) {
    return this.note(`remove ${kind} ${links.join(" ")}`);
  }
  kill(node: string) {
    return this.note(`kill ${node}`);
  }
  restart(node: string) {
    return this.note(`restart ${node}`);
  }
  pause(node: string) {
    return this.note(`pause ${node}`);
  }
  resume(node: string) {
    return this.note(`resume ${node}`);
  }
  skew(node: string, offsetMs: number) {
    return this.note(`skew ${node} ${offsetMs}`);
  }
  reset() {
    return this.note("reset");
  }
}

describe("the nemesis records its faults the way the checkers read them", () => {
  it("start and stop are invoke/info pairs that faultWindows turns into windows", async () => {
    let nowNs = 0;
    const recorder = new HistoryRecorder(() => (nowNs += 1_000_000));
    const backend = new RecordingBackend();
    const nemesis = new Nemesis(backend, recorder);
    const split = partitionFault(nodes, { kind: "split", groups: [["n1", "n2"]] });
    await nemesis.start(split);
    await nemesis.start({ name: "kill", node: "n3" });
    expect(nemesis.active.map((fault) => fault.name)).toEqual(["partition", "kill"]);
    await nemesis.stopAll();

    expect(backend.calls).toEqual([
      `cut refuse ${split.cut.join(" ")}`,
      "kill n3",
      "restart n3",
      "heal",
      "reset",
    ]);
    expect(recorder.operations.map((operation) => `${operation.type} ${operation.f}`)).toEqual([
      "invoke start-partition",
      "info start-partition",
      "invoke start-kill",
      "info start-kill",
      "invoke stop-kill",
      "info stop-kill",
      "invoke stop-partition",
      "info stop-partition",
    ]);
    expect(recorder.operations.every((operation) => operation.process === "nemesis")).toBe(true);
    const windows = faultWindows(recorder.operations);
    expect(windows.map((window) => [window.name, window.startNs, window.endNs])).toEqual([
      ["partition", 1e6, 8e6],
      ["kill", 3e6, 6e6],
    ]);
  });

  it("a fault the backend refuses is recorded with its error and rethrown", async () => {
    const recorder = new HistoryRecorder(() => 0);
    const backend = new RecordingBackend();
    backend.failOn = "pause n2";
    const nemesis = new Nemesis(backend, recorder);
    await expect(nemesis.start({ name: "pause", node: "n2" })).rejects.toThrow("pause n2 refused");
    expect(recorder.operations.at(-1)?.value).toEqual({ node: "n2", error: "pause n2 refused" });
    expect(nemesis.active).toEqual([]);
  });

  it("refuses unknown nodes, unknown links and values out of range, in one line", async () => {
    const nemesis = new Nemesis(new RecordingBackend());
    await expect(nemesis.start({ name: "kill", node: "n9" })).rejects.toThrow(
      'Expected a node among n1, n2, n3, n4, n5, got "n9"',
    );
    const latency = (links: string[], latencyMs: number): NemesisFault => ({
      name: "latency",
      links,
      latencyMs,
      jitterMs: 0,
    });
    expect(() => validateFault(latency(["n1->n9"], 10), nodes)).toThrow(/n1->n9/);
    expect(() => validateFault(latency(["n1->n1"], 10), nodes)).toThrow(/n1->n1/);
    expect(() => validateFault(latency(["client->n2"], -1), nodes)).toThrow(/latencyMs/);
    expect(() => validateFault(latency([], 10), nodes)).toThrow(/links/);
    expect(() => validateFault({ name: "skew", node: "n1", offsetMs: 1e12 }, nodes)).toThrow(
      /offsetMs/,
    );
    expect(checkLink("client->n3", nodes)).toBe("client->n3");
    expect(() => checkLink("n1-n2", nodes)).toThrow(/Expected a link like n1->n2/);
  });
});

describe("the simulator backend", () => {
  it("cuts exactly a partition's links, one direction for one-way, and heals them", async () => {
    const sim = simulation();
    const nemesis = new Nemesis(new SimNemesisBackend(sim));
    const split = partitionFault(nodes, { kind: "split", groups: [["n1", "n2"]] });
    await nemesis.start(split);
    expect(sim.links.cutLinks()).toEqual(split.cut);
    expect(sim.links.cutLinks()).toContain("n3->n1");
    expect(sim.links.cutLinks()).not.toContain("n1->n2");
    await nemesis.stop(split);
    expect(sim.links.cutLinks()).toEqual([]);

    const oneWay = partitionFault(nodes, { kind: "one-way", from: "n1", to: "n2" }, "drop");
    await nemesis.start(oneWay);
    expect(sim.links.cutLinks()).toEqual(["n1->n2"]);
    expect(sim.links.cutOf("n1", "n2")).toBe("drop");
    expect(sim.links.cutOf("n2", "n1")).toBeUndefined();
  });

  it("latency and flakiness change a link and removing them restores it", async () => {
    const sim = simulation();
    const nemesis = new Nemesis(new SimNemesisBackend(sim));
    const before = sim.links.behaviour("n1", "n2");
    const latency: NemesisFault = {
      name: "latency",
      links: ["n1->n2"],
      latencyMs: 200,
      jitterMs: 20,
    };
    await nemesis.start(latency);
    expect(sim.links.behaviour("n1", "n2").latency).toEqual({
      kind: "uniform",
      minMs: 180,
      maxMs: 220,
    });
    expect(sim.links.behaviour("n2", "n1")).toEqual(before);
    await nemesis.stop(latency);
    expect(sim.links.behaviour("n1", "n2")).toEqual(before);

    const flaky: NemesisFault = {
      name: "flaky",
      links: ["client->n3"],
      mode: "reset_peer",
      toxicity: 0.25,
      timeoutMs: 0,
    };
    await nemesis.start(flaky);
    expect(sim.links.behaviour("client", "n3").lossRate).toBe(0.25);
    await nemesis.backend.reset();
    expect(sim.links.behaviour("client", "n3").lossRate).toBe(0);
  });

  it("kill, pause and skew act on the simulated hosts and stop undoes them", async () => {
    const sim = simulation();
    const nemesis = new Nemesis(new SimNemesisBackend(sim));
    const host = (id: string) => sim.snapshot().nodes.find((node) => node.id === id)!;
    await nemesis.start({ name: "kill", node: "n3" });
    await nemesis.start({ name: "pause", node: "n2" });
    await nemesis.start({ name: "skew", node: "n4", offsetMs: 30_000 });
    expect([host("n3").up, host("n2").paused]).toEqual([false, true]);
    expect(host("n4").clockMs - host("n5").clockMs).toBe(30_000);
    await nemesis.stopAll();
    expect([host("n3").up, host("n2").paused]).toEqual([true, false]);
    expect(host("n4").clockMs - host("n5").clockMs).toBe(0);
  });
});

describe("the docker backend's containers", () => {
  it("kill, pause, resume and restart become container calls; resume unpauses only a paused one", async () => {
    const calls: string[] = [];
    const states = new Map<string, "running" | "paused" | "exited">([["n1", "running"]]);
    const fake = {
      nodes: [{ id: "n1", httpUrl: "http://127.0.0.1:18081" }],
      node: () => ({ httpUrl: "http://127.0.0.1:18081" }),
      kill: async (id: string, signal: string) => {
        calls.push(`kill ${id} ${signal}`);
        states.set(id, "exited");
      },
      pause: async (id: string) => {
        calls.push(`pause ${id}`);
        states.set(id, "paused");
      },
      unpause: async (id: string) => {
        calls.push(`unpause ${id}`);
        states.set(id, "running");
      },
      restart: async (id: string) => {
        calls.push(`restart ${id}`);
        states.set(id, "running");
      },
      state: async (id: string) => states.get(id) ?? "missing",
    } as unknown as DockerCluster;
    const containers = containersOf(fake);
    await containers.resume("n1");
    await containers.pause("n1");
    expect(await containers.isRunning("n1")).toBe(true);
    await containers.resume("n1");
    await containers.kill("n1");
    expect(await containers.isRunning("n1")).toBe(false);
    await containers.restart("n1");
    expect(calls).toEqual(["pause n1", "unpause n1", "kill n1 SIGKILL", "restart n1"]);
    expect(containers.httpUrl("n1")).toBe("http://127.0.0.1:18081");
  });
});

describe("seeded schedules", () => {
  const options = {
    seed: 42,
    faults: ["partition", "latency", "bandwidth", "flaky", "kill", "pause", "skew"] as const,
    nodes,
    intervalMs: 10_000,
    durationMs: 5_000,
    timeMs: 300_000,
  };

  it("the same seed gives the same schedule; another seed another one", () => {
    const schedule = planSchedule(options);
    expect(planSchedule(options)).toEqual(schedule);
    expect(planSchedule({ ...options, seed: 43 })).not.toEqual(schedule);
    expect(schedule).toHaveLength(30);
    expect(schedule[0]).toMatchObject({ startMs: 5_000, stopMs: 10_000 });
    expect(new Set(schedule.map(({ fault }) => fault.name)).size).toBeGreaterThan(4);
    for (const { fault, startMs, stopMs } of schedule) {
      expect(() => validateFault(fault, nodes)).not.toThrow();
      expect(stopMs - startMs).toBe(5_000);
      expect(stopMs).toBeLessThanOrEqual(options.timeMs);
    }
  });

  it("refuses a duration longer than its interval", () => {
    expect(() => planSchedule({ ...options, durationMs: 20_000 })).toThrow(/durationMs/);
  });

  it("runs on a nemesis at its offsets, starting and stopping each fault in turn", async () => {
    let nowMs = 0;
    const clock: ScheduleClock = {
      now: () => nowMs,
      sleep: async (ms) => {
        nowMs += ms;
      },
    };
    const recorder = new HistoryRecorder(() => nowMs * 1e6);
    const schedule = planSchedule({ ...options, faults: ["kill", "pause"], timeMs: 30_000 });
    await runSchedule(new Nemesis(new RecordingBackend(), recorder), schedule, { clock });
    const windows = faultWindows(recorder.operations);
    expect(
      windows.map((window) => [window.name, window.startNs / 1e6, window.endNs / 1e6]),
    ).toEqual(schedule.map(({ fault, startMs, stopMs }) => [fault.name, startMs, stopMs]));
  });
});

describe("command-line words", () => {
  it("parses partition shapes and signed offsets", () => {
    expect(parseShape("isolate:n3")).toEqual({ kind: "isolate", node: "n3" });
    expect(parseShape("one-way:n1->n2")).toEqual({ kind: "one-way", from: "n1", to: "n2" });
    expect(parseShape("majority:n4,n5")).toEqual({
      kind: "majority-minority",
      minority: ["n4", "n5"],
    });
    expect(parseShape("n1,n2|n3,n4,n5")).toEqual({
      kind: "split",
      groups: [
        ["n1", "n2"],
        ["n3", "n4", "n5"],
      ],
    });
    expect(() => parseShape("sideways")).toThrow(/Expected --shape/);
    expect(parseOffset("+30s")).toBe(30_000);
    expect(parseOffset("-500ms")).toBe(-500);
    expect(() => parseOffset("soon")).toThrow(/duration/);
  });
});

describe("the port layout of `neverstop up`", () => {
  it("puts every proxy on its own documented port", () => {
    const layout = { basePort: 8080, nodeCount: 5 };
    expect(toxiproxyPortOf(layout)).toBe(8474);
    expect(clientProxyPortOf(layout, 3)).toBe(10083);
    expect(linkProxyPortOf(layout, 1, 2)).toBe(11182);
    const ports = proxyPorts(layout);
    expect(ports).toHaveLength(5 + 20);
    expect(new Set(ports.map(({ port }) => port)).size).toBe(ports.length);
    const sixteen = proxyPorts({ basePort: 8080, nodeCount: 16 }).map(({ port }) => port);
    const nodePorts = [...Array(16).keys()].flatMap((index) => [8081 + index, 9081 + index]);
    expect(sixteen.filter((port) => nodePorts.includes(port) || port === 8474)).toEqual([]);
    expect(() => proxyPorts({ basePort: 64_000, nodeCount: 5 })).toThrow(/base-port/);
  });

  it("names every link of a cluster", () => {
    expect(allLinkNames(["n1", "n2", "n3"])).toEqual([
      "n1->n2",
      "n1->n3",
      "n2->n1",
      "n2->n3",
      "n3->n1",
      "n3->n2",
      "client->n1",
      "client->n2",
      "client->n3",
    ]);
  });
});
