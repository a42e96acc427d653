// What a lab is (every lab, 00 to 11): the contract between a lesson's grader and the kit that
// runs it. A lab names the one file the learner writes, checks that the file exports the right
// functions, and declares its checks. Each check has a part label and the property it tests:
//
//   { id: "03b", title: "no add is lost across a split", needs: "cluster",
//     run: async (context) => { const run = await context.runCluster({...}, policies); ... } }
//
// A check `needs` one of three things:
//   pure     nothing but the learner's functions (fast; runs anywhere, the browser too)
//   cluster  a cluster: the simulator by default, real processes with `--backend local`
//   process  real OS processes whatever the backend (lab 01 kills a writer mid-write): these
//            checks live in the lab's node-only file, never in the browser-safe one
//   local    real OS processes, run only with `--backend local` (lab 04's ring on real nodes):
//            node-only too, and skipped on the simulator so that grading stays fast
//
// A failing check returns the evidence as a history of operations (Jepsen's shape, so the same
// report draws it) and, when it can, a predicate that says whether a smaller history still
// shows the failure: the kit shrinks the history with it (shrink.ts) before it shows it.
// No Node built-ins: the course site runs the same graders in a browser Web Worker.

import type { Operation } from "../../chaos/harness/history.ts";
import type { RunResult } from "../../chaos/harness/run-core.ts";
import type { RunOptionsInput } from "../../chaos/harness/run-options.ts";

export const backendNames = ["sim", "local", "docker"] as const;
export type Backend = (typeof backendNames)[number];
export type CheckNeeds = "pure" | "cluster" | "process" | "local";

/** Bad input (exit 3): no such lab, a missing file, a file that does not compile or does not
 * export what the lab needs. The message is one line. */
export class LabInputError extends Error {
  override name = "LabInputError";
}

/** What a check may use. `module` is the learner's module, already checked by `validate`. */
export interface CheckContext<Module> {
  module: Module;
  seed: number;
  /** Where cluster checks run. */
  backend: Backend;
  /** The learner's file on disk (undefined in the browser, where the module came as text). */
  learnerFile: string | undefined;
  /** Says what the check is doing now (the progress line shows it). */
  note(text: string): void;
  /** Runs a chaos test on `backend` with the learner's policies plugged in. */
  runCluster(input: RunOptionsInput, policies?: ClusterPolicies): Promise<RunResult>;
}

/** The policies a cluster check plugs into the nodes (cluster/core's policy seam), and, for
 * real processes, how to load them: the module path and the export to read. Kept opaque here so
 * that the kit does not depend on the seam's exact shape. */
export interface ClusterPolicies {
  /** Passed to the simulator as is. */
  value: unknown;
  /** For real processes: a module (the learner's file wrapped) the node processes load. */
  moduleSource?: string;
}

export interface CheckPass {
  ok: true;
  /** One line worth showing even on success (a count, a measurement). */
  detail?: string;
}

export interface CheckFailure {
  ok: false;
  /** What went wrong, in the learner's terms: "the add of 17 was acknowledged, then lost". */
  message: string;
  /** The evidence: a history (client operations and faults) that shows the failure. */
  history?: Operation[];
  /** True when `history` (or a part of it) still shows the failure: lets the kit shrink it. */
  stillFails?: (history: Operation[]) => boolean;
  /** Runs a shrunk history again and returns what it records now (the learner's answers in
   * the original history were given to the whole of it). */
  reproduce?: (history: Operation[]) => Operation[];
  /** The run that failed, when there was one (its report and replay command are kept). */
  run?: RunResult;
}

export type CheckOutcome = CheckPass | CheckFailure;

export interface LabCheck<Module> {
  /** The part label: the lab's number and a letter, "03b". */
  id: string;
  /** The property, as a sentence a learner can act on: "no add is lost across a split". */
  title: string;
  needs: CheckNeeds;
  run(context: CheckContext<Module>): Promise<CheckOutcome> | CheckOutcome;
}

export interface Mistake {
  /** The check this mistake must fail (its message must name that check's property). */
  fails: string;
  /** One sentence: the mistake it makes. */
  why: string;
}

export interface LabDefinition<Module> {
  /** Two digits: "03". */
  id: string;
  /** The folder under labs/: "03-cart-resolver". */
  slug: string;
  title: string;
  /** The file the learner writes, relative to starter/ (and solution/): "resolver.ts". */
  learnerFile: string;
  /** Where it comes from, for the table in labs/README.md and the listing. */
  talkSlide: string;
  paperSection: string;
  /** Turns the imported module into what the checks use; throws LabInputError (one line)
   * when an export is missing or of the wrong kind. */
  validate(module: Record<string, unknown>): Module;
  checks: LabCheck<Module>[];
  /** Every file in mistakes/, by name, with the check it must fail. */
  mistakes: Record<string, Mistake>;
  /** The seed graders use when none is given. */
  seed?: number;
}

/** A lab with its module type erased, so that a registry can hold labs of every kind. The
 * checks still see the typed module: `prepare` validates once and closes over it. */
export interface Lab {
  readonly definition: Omit<LabDefinition<unknown>, "validate" | "checks">;
  readonly checks: ReadonlyArray<Omit<LabCheck<unknown>, "run">>;
  /** Validates the module (LabInputError on a bad one) and returns a runner per check. */
  prepare(module: Record<string, unknown>): PreparedLab;
  /** A copy of this lab with more checks (the node-only part adds its process checks). */
  withChecks(extra: LabCheck<never>[]): Lab;
}

export interface PreparedLab {
  run(checkId: string, context: Omit<CheckContext<unknown>, "module">): Promise<CheckOutcome>;
}

export function defineLab<Module>(definition: LabDefinition<Module>): Lab {
  const ids = new Set<string>();
  for (const check of definition.checks) {
    if (!check.id.startsWith(definition.id) || ids.has(check.id))
      throw new Error(
        `lab ${definition.id}: check id ${check.id} must be unique and start with ${definition.id}`,
      );
    ids.add(check.id);
  }
  for (const [file, mistake] of Object.entries(definition.mistakes)) {
    if (!ids.has(mistake.fails))
      throw new Error(
        `lab ${definition.id}: mistake ${file} names an unknown check ${mistake.fails}`,
      );
  }
  const { validate, checks, ...rest } = definition;
  return {
    definition: rest,
    checks: checks.map(({ id, title, needs }) => ({ id, title, needs })),
    prepare(module) {
      const typed = validate(module);
      return {
        async run(checkId, context) {
          const check = checks.find((candidate) => candidate.id === checkId);
          if (check === undefined)
            throw new LabInputError(`lab ${definition.id} has no check ${checkId}`);
          return check.run({ ...context, module: typed });
        },
      };
    },
    withChecks(extra) {
      return defineLab({ ...definition, checks: [...checks, ...(extra as LabCheck<Module>[])] });
    },
  };
}

/** The usual `validate`: each name must be an exported function. */
export function requireFunctions<Names extends string>(
  module: Record<string, unknown>,
  names: readonly Names[],
): Record<Names, (...args: never[]) => unknown> {
  for (const name of names) {
    if (typeof module[name] !== "function") {
      const got = module[name] === undefined ? "nothing" : typeof module[name];
      throw new LabInputError(
        `the file must export a function \`${name}\`, it exports ${got} by that name`,
      );
    }
  }
  return module as Record<Names, (...args: never[]) => unknown>;
}

/** Runs the learner's function; an exception becomes a failure message instead of a crash. */
export function callLearner<Result>(
  name: string,
  call: () => Result,
): { ok: true; value: Result } | { ok: false; message: string } {
  try {
    return { ok: true, value: call() };
  } catch (error) {
    const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    return { ok: false, message: `${name} threw ${text.split("\n")[0]}` };
  }
}
