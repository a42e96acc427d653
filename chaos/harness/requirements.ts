// Parts a test needs from the machine (every lesson's CI; issue 12, "a CI that proves what it
// claims"): a real Docker engine, a real Chromium. On a laptop without one, the test skips and
// says why in one line, so `npm test` stays useful. Under CI a missing part is a FAILURE with the
// same reason: a green CI must mean the Docker and browser tests really ran, not that they
// quietly stepped aside.
//
//   const skipDocker = requirePart("Docker engine", await whyNoEngine());
//   describe.skipIf(skipDocker)("docker backend", () => { ... });
//
//   laptop, no engine:  prints "skipped (no Docker engine): no Docker engine answers at ..."
//                       and returns true; vitest marks the tests skipped
//   CI=true, no engine: throws PartMissingError with that reason; vitest fails the file
//   engine answers:     returns false, prints nothing, the tests run

/** A part a test needs is missing and CI says every test must run. */
export class PartMissingError extends Error {
  override name = "PartMissingError";
}

/**
 * Whether the environment is CI. CI services set `CI=true` (GitHub Actions, GitLab, Buildkite,
 * .ci/run); an empty value, `0` or `false` means a person turned it off.
 */
export function isCi(environment: NodeJS.ProcessEnv = process.env): boolean {
  const value = (environment["CI"] ?? "").trim().toLowerCase();
  return value !== "" && value !== "0" && value !== "false";
}

/**
 * Decides what a test does when a part may be missing. `missingReason` is undefined when the
 * part is there, or one line saying why it is not (and how to get it). Returns true when the
 * test must skip; throws PartMissingError under CI instead of skipping.
 */
export function requirePart(
  name: string,
  missingReason: string | undefined,
  options: { environment?: NodeJS.ProcessEnv; log?: (line: string) => void } = {},
): boolean {
  if (name.trim() === "") throw new TypeError("Expected `name` to name the part, got ''");
  if (missingReason === undefined) return false;
  const reason = missingReason.split("\n")[0]!.trim() || "no reason given";
  if (isCi(options.environment)) {
    throw new PartMissingError(
      `${name} is required under CI=true and is missing: ${reason} (set up by .ci/run; outside CI the test would skip)`,
    );
  }
  (options.log ?? ((line: string) => console.warn(line)))(`skipped (no ${name}): ${reason}`);
  return true;
}
