// Where a lab's policies file is seen inside a node container (backend.ts, policiesMount): the
// mounts `up --backend docker --policies FILE` and the lab kit's docker runs rely on. No engine
// needed; docker.test.ts loads both shapes into real containers.

import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { policiesMount } from "./backend.ts";

describe("policiesMount", () => {
  const repository = fileURLToPath(new URL("../../../", import.meta.url)).replace(/\/$/, "");

  it("maps a file inside the repository under /app, where its relative imports resolve", () => {
    expect(policiesMount(join(repository, "labs", "04-ring", "solution", "claim.ts"))).toEqual({
      binds: [`${repository}/labs/04-ring/solution:/app/labs/04-ring/solution:ro`],
      file: "/app/labs/04-ring/solution/claim.ts",
    });
  });

  it("mounts a file outside it at its own path, with the repository beside it", () => {
    expect(policiesMount("/tmp/neverstop-lab-x/policies.ts")).toEqual({
      binds: ["/tmp/neverstop-lab-x:/tmp/neverstop-lab-x:ro", `${repository}:${repository}:ro`],
      file: "/tmp/neverstop-lab-x/policies.ts",
    });
  });
});
