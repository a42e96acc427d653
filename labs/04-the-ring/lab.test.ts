// Lab 04's grader, proven: the solution passes, the starter and every mistake fail; and on real
// processes (04e, --backend local) the nodes run the learner's ring, or refuse a broken one.
import { resolve } from "node:path";
import { expect, test } from "vitest";
import { labsRoot } from "../kit/command.ts";
import { formatVerdict } from "../kit/grade.ts";
import { findLab } from "../kit/registry.ts";
import { nodeLabs } from "../kit/registry.node.ts";
import { gradeLabFile, labTests } from "../kit/testing.ts";

labTests("04");

const lab = findLab("04", nodeLabs)!;
const file = (folder: string, name: string) => resolve(labsRoot, "04-the-ring", folder, name);

test("04e on real processes: the solution's ring answers, a ring that lists a node twice is refused", async () => {
  const passed = await gradeLabFile(lab, file("solution", "ring.ts"), {
    only: ["04e"],
    backend: "local",
  });
  expect(passed.passed, formatVerdict(passed)).toBe(true);
  const failed = await gradeLabFile(lab, file("mistakes", "repeats-nodes.ts"), {
    only: ["04e"],
    backend: "local",
  });
  expect(formatVerdict(failed)).toContain("FAIL 04e");
  expect(failed.checks.find((check) => check.id === "04e")?.message).toContain(
    "listed a node twice",
  );
}, 120_000);
