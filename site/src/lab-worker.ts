// The in-page grader (every lab; "one grader, two hosts"): a Web Worker that compiles a
// learner's TypeScript with sucrase, loads it as a module, and grades it with the lab kit's
// own gradeLab and simulateRun (labs/kit), the code `npx neverstop lab NN` runs. Checks that
// need real processes are skipped here; the page shows their command instead. Each check's
// start and end is posted as it happens; the verdict ends the conversation.
//
// Messages in: { labId, source, seed }. Out: { kind: "start" | "end" | "note" | "verdict" |
// "error", ... } (see LabWorkerMessage).

import { transform } from "sucrase";
import { renderReport } from "../../chaos/checkers/report.ts";
import { gradeLab, seedDefault, type CheckVerdict } from "../../labs/kit/grade.ts";
import { findLab } from "../../labs/kit/registry.ts";
import { simulateRun } from "../../labs/kit/simulate.ts";
import { learnerImportable, resolveImport } from "./lab-modules.ts";

export interface GradeRequest {
  labId: string;
  source: string;
  seed?: number;
}

export interface CheckLine {
  id: string;
  title: string;
  ok: boolean;
  skipped: boolean;
  needsProcess: boolean;
  durationMs: number;
  message: string | undefined;
  /** The failing history drawn as a report page (HTML), when the check gave one. */
  drawing: string | undefined;
}

export type LabWorkerMessage =
  | { kind: "start"; id: string; title: string }
  | { kind: "note"; id: string; text: string }
  | { kind: "end"; check: CheckLine }
  | { kind: "verdict"; passed: boolean; checks: CheckLine[]; replayCommand: string; wallMs: number }
  | { kind: "error"; message: string };

const post = (message: LabWorkerMessage) => (self as unknown as Worker).postMessage(message);

/** Compiles the learner's file; a syntax error is one line, file:line:col: message. */
function compile(source: string, file: string): string {
  try {
    return transform(source, { transforms: ["typescript", "imports"], filePath: file }).code;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const where = /\((\d+):(\d+)\)/.exec(message);
    const text = message.replace(/\s*\(\d+:\d+\)\s*$/, "");
    throw new Error(
      where === null ? `${file}: ${text}` : `${file}:${where[1]}:${where[2]}: ${text}`,
      { cause: error },
    );
  }
}

async function loadModule(source: string, file: string): Promise<Record<string, unknown>> {
  const code = compile(source, file);
  const loaded = new Map<string, unknown>();
  for (const match of code.matchAll(/require\('([^']+)'\)/g)) {
    const specifier = match[1]!;
    const path = resolveImport(file, specifier);
    const load = path === undefined ? undefined : learnerImportable.get(path);
    if (load === undefined) {
      throw new Error(
        `${file}: cannot import ${JSON.stringify(specifier)} in the browser (grade it with npx neverstop lab)`,
      );
    }
    loaded.set(specifier, await load());
  }
  const module = { exports: {} as Record<string, unknown> };
  const require = (specifier: string) => loaded.get(specifier);
  // The learner's own code, compiled above, run once with its imports.
  new Function("exports", "require", "module", code)(module.exports, require, module);
  return module.exports;
}

function line(
  check: CheckVerdict,
  needsProcess: boolean,
  lab: { id: string; title: string; seed: number },
): CheckLine {
  const replay = `npx neverstop lab ${lab.id} --seed ${lab.seed} --only ${check.id}`;
  const drawing =
    !check.ok && check.history !== undefined && check.history.length > 0
      ? renderReport({
          title: `${check.id} ${check.title}: the history that shows it`,
          parameters: {
            workload: check.run?.options.workload ?? `lab ${lab.id}: ${lab.title}`,
            seed: check.run?.options.seed ?? lab.seed,
            backend: "sim",
            nemesis: check.run?.options.nemesis.faults.join(", ") || "none",
            replayCommand: replay,
          },
          history: check.history,
          results:
            check.run === undefined
              ? { [check.id]: { valid: false, reason: check.message ?? "" } }
              : (check.run.results as never),
        })
      : undefined;
  return {
    id: check.id,
    title: check.title,
    ok: check.ok,
    skipped: check.skipped,
    needsProcess,
    durationMs: check.durationMs,
    message: check.message,
    drawing,
  };
}

async function grade(request: GradeRequest): Promise<void> {
  const lab = findLab(request.labId);
  if (lab === undefined) throw new Error(`No lab ${JSON.stringify(request.labId)}`);
  const file = `labs/${lab.definition.slug}/starter/${lab.definition.learnerFile}`;
  const module = await loadModule(request.source, file);
  const needsProcess = new Map(lab.checks.map((check) => [check.id, check.needs === "process"]));
  const seed = request.seed ?? lab.definition.seed ?? seedDefault;
  const about = { id: lab.definition.id, title: lab.definition.title, seed };
  const startedMs = performance.now();
  const verdict = await gradeLab(lab, module, {
    processChecks: false,
    backend: "sim",
    seed,
    runCluster: (input, policies, note) => simulateRun(input, policies, note),
    onCheckStart: (check) => post({ kind: "start", id: check.id, title: check.title }),
    onCheckNote: (check, text) => post({ kind: "note", id: check.id, text }),
    onCheckEnd: (check) =>
      post({
        kind: "end",
        check: line(check, needsProcess.get(check.id) ?? false, about),
      }),
  });
  post({
    kind: "verdict",
    passed: verdict.passed,
    checks: verdict.checks.map((check) => line(check, needsProcess.get(check.id) ?? false, about)),
    replayCommand: verdict.replayCommand,
    wallMs: performance.now() - startedMs,
  });
}

self.addEventListener("message", (event: MessageEvent<GradeRequest>) => {
  grade(event.data).catch((error: unknown) =>
    post({ kind: "error", message: error instanceof Error ? error.message : String(error) }),
  );
});
