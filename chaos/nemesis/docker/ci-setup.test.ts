// .ci/docker-setup.sh (issue 12, "a CI that proves what it claims"): it answers 0 only when an
// engine really answers, and otherwise 1 with one line, which stops .ci/run. Run for real: once
// against this machine's engine, once pointed at an address where nothing listens (as root, with
// dockerd installed and running, the script then waits its bounded time and gives up, naming it).

import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { requirePart } from "../../harness/requirements.ts";
import { connectDocker, whyNoEngine } from "./engine.ts";

const script = fileURLToPath(new URL("../../../.ci/docker-setup.sh", import.meta.url));
const skipDocker = requirePart("Docker engine", await whyNoEngine(connectDocker()));
const scriptTimeoutMs = 60_000;

function runSetup(environment: Record<string, string>) {
  const result = spawnSync("bash", [script], {
    env: { ...process.env, ...environment },
    encoding: "utf8",
    timeout: scriptTimeoutMs,
  });
  return { status: result.status, lines: `${result.stdout}${result.stderr}`.trim().split("\n") };
}

describe.skipIf(skipDocker)(".ci/docker-setup.sh on a machine with an engine", () => {
  it("is idempotent: an engine that answers is used as it is", () => {
    const run = runSetup({});
    expect(run.status).toBe(0);
    expect(run.lines).toHaveLength(1);
    expect(run.lines[0]).toMatch(/^docker-setup: a Docker engine \S+ already answers$/);
  });

  it(
    "fails with one line, within its bounded wait, when no engine answers",
    () => {
      const run = runSetup({
        DOCKER_HOST: "unix:///nonexistent/neverstop-ci-setup.sock",
        DOCKER_SETUP_WAIT_SECONDS: "2",
      });
      expect(run.status).toBe(1);
      expect(run.lines).toHaveLength(1);
      expect(run.lines[0]).toMatch(/^docker-setup: .*(the Docker tests cannot run)/);
    },
    scriptTimeoutMs,
  );
});
