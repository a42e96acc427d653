// Tests of the player's model (lesson 3): a seek replays from the seed and lands on the state
// playing reaches; a played run ends with the CLI's history; interventions are faults at
// fixed times that the replay command carries.

import { describe, expect, it } from "vitest";
import { sha1Hex } from "../../cluster/core/sha1.ts";
import { runSimulatedTest } from "../../chaos/harness/run-core.ts";
import { replayCommand } from "../../chaos/harness/run-options.ts";
import { addIntervention, endIntervention, PlayerRun, scenarioOptions } from "./player-model.ts";

describe("the simulation player's run", () => {
  it("a seek to 14.3 s lands on the state playing frame by frame reaches", () => {
    const options = scenarioOptions("partition", 42);
    const played = new PlayerRun(options);
    while (played.now < 14_300) played.step();
    const sought = PlayerRun.at(options, 14_300);
    expect(sought.now).toBe(14_300);
    expect(sought.frame()).toEqual(played.frame());
    expect(sha1Hex(JSON.stringify(sought.history))).toBe(sha1Hex(JSON.stringify(played.history)));
    // A partition is in force at 14.3 s (10 s to 20 s), so some links are cut.
    expect(sought.frame().cutLinks.length).toBeGreaterThan(0);
    // And a different time is a different state (the comparison can fail).
    expect(PlayerRun.at(options, 9_000).frame()).not.toEqual(played.frame());
  });

  it("played to the end, the run is the CLI's run: same history, same verdict", () => {
    const options = scenarioOptions("partition", 7);
    const played = new PlayerRun(options);
    while (!played.finished) played.step();
    const cli = runSimulatedTest(options);
    const result = played.result();
    expect(sha1Hex(JSON.stringify(result.history))).toBe(sha1Hex(JSON.stringify(cli.history)));
    expect(result.summary.verdict).toBe(cli.summary.verdict);
    expect(result.summary.messages).toEqual(cli.summary.messages);
  });

  it("a learner's crash and restart become a schedule the replay command carries", () => {
    let schedule = addIntervention([], { name: "crash", node: "n3" }, 5_000, 30_000);
    schedule = endIntervention(
      schedule,
      (fault) => fault.name === "crash" && fault.node === "n3",
      8_000,
    );
    const options = scenarioOptions("calm", 3, schedule);
    const run = PlayerRun.at(options, 6_000);
    expect(run.frame().nodes.find((node) => node.id === "n3")!.up).toBe(false);
    run.advanceTo(9_000);
    expect(run.frame().nodes.find((node) => node.id === "n3")!.up).toBe(true);
    expect(replayCommand(options)).toContain("--schedule '5s..8s crash n3'");
    expect(() => addIntervention([], { name: "pause", node: "n1" }, 30_000, 30_000)).toThrow(
      "Faults can be injected until 30 s",
    );
  });
});
