// The vitest side of a grader (every lab's lab.test.ts): a grader is only proven by failing.
// `labTests("03")` declares, for that lab:
//   03: the reference solution passes every check
//   03: the untouched starter fails
//   03: mistakes/keep-newest.ts fails 03b (last-write-wins drops a concurrent add)
//   ... one test per file in mistakes/, each asserting that the declared check fails and that
//   the verdict line names its property; a file in mistakes/ that the lab does not declare fails.
// Graded exactly as `npx neverstop lab` grades (same gradeLab, same checks, same seed).

import { readdirSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, test } from "vitest";
import { formatVerdict, gradeLab, type LabVerdict } from "./grade.ts";
import type { Backend, Lab } from "./lab.ts";
import { loadLearnerModule, type ModuleImporter } from "./load.node.ts";
import { findLab } from "./registry.ts";
import { nodeLabs } from "./registry.node.ts";
import { clusterRunner } from "./run.node.ts";
import { labsRoot } from "./command.ts";

/** vitest transforms TypeScript itself: import the learner's file through it. */
export const vitestImporter: ModuleImporter = async (url) =>
  (await import(/* @vite-ignore */ url)) as Record<string, unknown>;

export interface LabTestOptions {
  backend?: Backend;
  /** vitest's time limit per graded file. Default 120 s. */
  testTimeoutMs?: number;
}

export async function gradeLabFile(
  lab: Lab,
  file: string,
  options: { only?: string[]; stopAtFirstFailure?: boolean; backend?: Backend } = {},
): Promise<LabVerdict> {
  const module = await loadLearnerModule(file, vitestImporter);
  const backend = options.backend ?? "sim";
  return gradeLab(lab, module, {
    backend,
    processChecks: true,
    learnerFile: file,
    runCluster: clusterRunner(backend),
    ...(options.only === undefined ? {} : { only: options.only }),
    ...(options.stopAtFirstFailure === undefined
      ? {}
      : { stopAtFirstFailure: options.stopAtFirstFailure }),
  });
}

export function labTests(labId: string, options: LabTestOptions = {}): void {
  const lab = findLab(labId, nodeLabs);
  if (lab === undefined) throw new Error(`no lab ${labId} in the registry`);
  const { id, slug, learnerFile, mistakes } = lab.definition;
  const folder = resolve(labsRoot, slug);
  const timeoutMs = options.testTimeoutMs ?? 120_000;
  const backend = options.backend ?? "sim";

  describe(`lab ${id}: ${lab.definition.title}`, () => {
    test(
      `${id}: the reference solution passes every check`,
      async () => {
        const verdict = await gradeLabFile(lab, resolve(folder, "solution", learnerFile), {
          backend,
        });
        expect(verdict.passed, formatVerdict(verdict)).toBe(true);
      },
      timeoutMs,
    );

    test(
      `${id}: the untouched starter fails`,
      async () => {
        const verdict = await gradeLabFile(lab, resolve(folder, "starter", learnerFile), {
          stopAtFirstFailure: true,
          backend,
        });
        expect(verdict.passed, formatVerdict(verdict)).toBe(false);
      },
      timeoutMs,
    );

    test(`${id}: every file in mistakes/ is declared with the check it fails`, () => {
      const files = readdirSync(resolve(folder, "mistakes")).filter((name) => name.endsWith(".ts"));
      expect(files.sort()).toEqual(Object.keys(mistakes).sort());
      expect(files.length).toBeGreaterThanOrEqual(3);
    });

    for (const [file, mistake] of Object.entries(mistakes)) {
      const check = lab.checks.find((candidate) => candidate.id === mistake.fails)!;
      test(
        `${id}: mistakes/${file} fails ${check.id} ${check.title} (${mistake.why})`,
        async () => {
          const verdict = await gradeLabFile(lab, resolve(folder, "mistakes", file), {
            only: [check.id],
            backend,
          });
          const text = formatVerdict(verdict);
          const graded = verdict.checks.find((candidate) => candidate.id === check.id)!;
          expect(graded.ok, text).toBe(false);
          expect(graded.message, text).toBeTruthy();
          expect(text).toContain(`FAIL ${check.id} ${check.title}`);
        },
        timeoutMs,
      );
    }
  });
}
