// Sequential specifications for the linearizability checker (lesson 6, sharing data: what a
// single copy of a register or a key-value map would have answered, one operation at a time).
//
// A model is the contract between a data type and the checker, written here on the type the
// way Porcupine writes it. The checker never looks inside states, inputs or outputs: it only
// calls these functions. Three models ship:
//   cas-register  one register of numbers or nil, read/write/cas, initially nil; two readings
//                 of a history, chosen by its format (see `HistoryConvention`):
//                   jepsen     Knossos's: a `fail` did not happen, an ok read of nil tells nothing;
//                   porcupine  Porcupine's etcd model: a failed cas compared and did not match,
//                              a read of nil needs the register to be nil.
//   kv            Porcupine's key-value model: get/put/append on strings, one partition a key.
//   register      neverstop's own: read/write/cas per `key`, numbers or null, initially null;
//                 a `fail` did not happen, a read of null needs the key to be absent.
//
// A worked example of the contract, for `register`:
//   invoke {f: "cas", key: "x", value: [1, 2]} then ok   -> input {kind: cas, from 1, to 2}
//   step(1, input, output) -> [true, 2]      the value was 1, so the cas took effect
//   step(3, input, output) -> [false, 3]     an ok cas from 1 cannot happen when the value is 3
// And of the two conventions, for `cas-register` after an ok write(1):
//   invoke cas [1, 2] then fail   jepsen: did not happen, valid
//                                 porcupine: the compare of 1 with 1 cannot fail, invalid
//   invoke read then ok nil       jepsen: tells nothing, valid
//                                 porcupine: the register holds 1, not nil, invalid
//
// No Node built-ins: this runs in the browser too.

import type { Operation } from "../harness/history.ts";
import type { HistoryConvention } from "../harness/history-io.ts";

/** A model's answer to `call` when the operation's shape is wrong; the checker reports it. */
export class ModelInputError extends Error {
  constructor(
    /** The invoke's index in the history. */
    readonly operationIndex: number,
    readonly reason: string,
  ) {
    super(`operation ${operationIndex}: ${reason}`);
    this.name = "ModelInputError";
  }
}

/** The model's view of one client operation. */
export interface ModelCall<Input, Output> {
  input: Input;
  output: Output;
}

/**
 * The contract every model keeps (after Porcupine's `Model`).
 *
 * - `init()` gives the state before any operation.
 * - `step(state, input, output)` applies one operation to a state and says whether the output
 *   is one the specification allows: `[true, next]` or `[false, anything]`. It must not
 *   change `state` (the search goes back to earlier states), and it must be deterministic.
 *   The checker reads the pair at once and keeps neither the array nor a reference to it,
 *   so a model may return the same array every time: the search calls `step` millions of
 *   times, and not allocating one array per call saves a fifth of its time.
 * - `equal(a, b)` and `hash(state)` let the search remember (linearized set, state) pairs it
 *   has already explored; equal states must have equal hashes.
 * - `call(invoke, completion)` turns a recorded operation into the model's input and output.
 *   `completion` is `undefined` or an `info` when the outcome is unknown (the operation may
 *   have taken effect at any time after its invoke): the output must then accept any result.
 *   A `fail` completion means it did not happen: return `null` and the checker drops it
 *   (Porcupine's cas-register alone reads a failed cas as an observation, see below).
 * - `readOnly(input, output)` (optional) is true when `step` never changes the state where
 *   it accepts the operation (a read; a cas known to have failed). The search then need not
 *   try other orders once such an operation was legal: it can always go first.
 * - `partitionKey(input)` splits the history into independent parts (P-compositionality: a
 *   history of independent keys is linearizable when each key's part is), or `undefined` to
 *   keep it whole.
 * - `describeOperation` and `describeState` write the words a counter-example shows.
 */
export interface Model<State, Input, Output> {
  readonly name: string;
  init(): State;
  step(state: State, input: Input, output: Output): [boolean, State];
  equal(left: State, right: State): boolean;
  hash(state: State): number;
  call(invoke: Operation, completion: Operation | undefined): ModelCall<Input, Output> | null;
  readOnly?(input: Input, output: Output): boolean;
  partitionKey?(input: Input): string | undefined;
  describeOperation(input: Input, output: Output): string;
  describeState(state: State): string;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyModel = Model<any, any, any>;

/** True when the outcome of an operation is not known: it stays pending to the end. */
export function outcomeUnknown(completion: Operation | undefined): boolean {
  return completion === undefined || completion.type === "info";
}

function hashNumber(value: number | null): number {
  if (value === null) return 0x5bd1e995;
  if (Number.isInteger(value) && Math.abs(value) < 2 ** 31)
    return Math.imul(value | 0, 0x9e3779b1) ^ 0x2545f491;
  let hash = 0x811c9dc5;
  const text = String(value);
  for (let index = 0; index < text.length; index += 1)
    hash = Math.imul(hash ^ text.charCodeAt(index), 0x01000193);
  return hash;
}

function describeValue(value: number | null): string {
  return value === null ? "nil" : String(value);
}

function numberOrNull(value: unknown, invoke: Operation, what: string): number | null {
  if (value === null || (typeof value === "number" && Number.isFinite(value))) return value;
  throw new ModelInputError(
    invoke.index,
    `expected ${what} to be a number or null, got ${JSON.stringify(value)}`,
  );
}

function casArguments(invoke: Operation): [number | null, number | null] {
  const value = invoke.value;
  if (!Array.isArray(value) || value.length !== 2) {
    throw new ModelInputError(
      invoke.index,
      `expected a cas value [from, to], got ${JSON.stringify(value)}`,
    );
  }
  return [numberOrNull(value[0], invoke, "cas from"), numberOrNull(value[1], invoke, "cas to")];
}

// ---------------------------------------------------------------------------------------
// Registers: cas-register (Porcupine's etcd model) and register (neverstop's, per key)

export type RegisterState = number | null;

export interface RegisterInput {
  kind: "read" | "write" | "cas";
  key: string | undefined;
  /** The written value, or the cas's expected value. */
  from: number | null;
  /** The cas's new value. */
  to: number | null;
}

export interface RegisterOutput {
  /** The outcome is unknown (info or never completed): any result is allowed. */
  unknown: boolean;
  /** For cas: did it swap. */
  swapped: boolean;
  /** For read: the value read. */
  value: number | null;
}

/** The points on which the register models read a history differently. */
interface RegisterReading {
  /**
   * A `fail` cas ran its compare and found another value (Porcupine's etcd logs, where
   * Jepsen's early etcd client wrote `:fail` for a compare that did not match), rather than
   * "did not happen" (Jepsen's rule, kept by Knossos for every model).
   */
  failedCasObserved: boolean;
  /**
   * An ok read of nil needs the register to be nil. Knossos's cas-register accepts any read
   * of nil (a Jepsen client writes nil when it does not know what it read); Porcupine's etcd
   * model and neverstop's `register` (nil there is a key nobody wrote) do not.
   */
  nilReadObserved: boolean;
}

function registerModel(
  name: string,
  reading: RegisterReading,
): Model<RegisterState, RegisterInput, RegisterOutput> {
  // One answer array, reused: the checker reads it at once (see `Model.step`).
  const answer: [boolean, RegisterState] = [false, null];
  return {
    name,
    init: () => null,
    step(state, input, output) {
      switch (input.kind) {
        case "read":
          answer[0] = output.unknown || output.value === state;
          answer[1] = state;
          return answer;
        case "write":
          answer[0] = true;
          answer[1] = input.from;
          return answer;
        case "cas": {
          const matches = input.from === state;
          answer[0] = output.unknown || matches === output.swapped;
          answer[1] = matches ? input.to : state;
          return answer;
        }
      }
    },
    equal: (left, right) => left === right,
    hash: hashNumber,
    call(invoke, completion) {
      const unknown = outcomeUnknown(completion);
      const failed = completion?.type === "fail";
      const key = invoke.key;
      switch (invoke.f) {
        case "read": {
          // A failed or unknown read tells nothing: any state allows it.
          if (failed || unknown) return null;
          const value = numberOrNull(completion!.value, invoke, "a read's result");
          if (value === null && !reading.nilReadObserved) return null;
          return {
            input: { kind: "read", key, from: null, to: null },
            output: { unknown, swapped: false, value },
          };
        }
        case "write": {
          if (failed) return null;
          const value = numberOrNull(invoke.value, invoke, "a written value");
          return {
            input: { kind: "write", key, from: value, to: null },
            output: { unknown, swapped: true, value: null },
          };
        }
        case "cas": {
          if (failed && !reading.failedCasObserved) return null;
          const [from, to] = casArguments(invoke);
          return {
            input: { kind: "cas", key, from, to },
            output: { unknown, swapped: !failed, value: null },
          };
        }
        default:
          throw new ModelInputError(
            invoke.index,
            `${name} has no operation \`${invoke.f}\` (expected read, write or cas)`,
          );
      }
    },
    readOnly: (input, output) =>
      input.kind === "read" || (input.kind === "cas" && !output.unknown && !output.swapped),
    partitionKey: (input) => input.key,
    describeOperation(input, output) {
      const prefix = input.key === undefined ? "" : `${input.key}: `;
      switch (input.kind) {
        case "read":
          return `${prefix}read() -> ${output.unknown ? "unknown" : describeValue(output.value)}`;
        case "write":
          return `${prefix}write(${describeValue(input.from)})`;
        case "cas":
          return `${prefix}cas(${describeValue(input.from)}, ${describeValue(input.to)}) -> ${output.unknown ? "unknown" : output.swapped ? "ok" : "fail"}`;
      }
    },
    describeState: describeValue,
  };
}

/** cas-register as Porcupine reads its etcd logs. */
export const casRegisterModel = registerModel("cas-register", {
  failedCasObserved: true,
  nilReadObserved: true,
});
/** cas-register as Knossos reads Jepsen's EDN histories. */
export const jepsenCasRegisterModel = registerModel("cas-register", {
  failedCasObserved: false,
  nilReadObserved: false,
});
export const keyedRegisterModel = registerModel("register", {
  failedCasObserved: false,
  nilReadObserved: true,
});

// ---------------------------------------------------------------------------------------
// kv: Porcupine's key-value model (6.5840's lab 3), strings per key, initially ""

/**
 * A kv state carries a polynomial hash of its string, kept up to date as values are
 * appended: hashing the whole string on every step would cost more than the search it
 * speeds up, since kv strings only grow.
 */
export interface KvState {
  value: string;
  hash: number;
}

export interface KvInput {
  kind: "get" | "put" | "append";
  key: string;
  value: string;
  /** The polynomial hash of `value`, and the hash base raised to its length. */
  valueHash: number;
  basePower: number;
}

/** The string a get returned, or `undefined` when the outcome is unknown. */
export type KvOutput = string | undefined;

const hashBase = 0x01000193;

function polynomialHash(value: string): [hash: number, basePower: number] {
  let hash = 0;
  let basePower = 1;
  for (let index = 0; index < value.length; index += 1) {
    hash = (Math.imul(hash, hashBase) + value.charCodeAt(index)) | 0;
    basePower = Math.imul(basePower, hashBase);
  }
  return [hash, basePower];
}

function stringArgument(value: unknown, invoke: Operation, what: string): string {
  if (typeof value === "string") return value;
  if (value === null) return "";
  throw new ModelInputError(
    invoke.index,
    `expected ${what} to be a string, got ${JSON.stringify(value)}`,
  );
}

/** One answer array, reused: the checker reads it at once (see `Model.step`). */
const kvAnswer: [boolean, KvState] = [false, { value: "", hash: 0 }];

export const kvModel: Model<KvState, KvInput, KvOutput> = {
  name: "kv",
  init: () => ({ value: "", hash: 0 }),
  step(state, input, output) {
    switch (input.kind) {
      case "get":
        kvAnswer[0] = output === undefined || output === state.value;
        kvAnswer[1] = state;
        return kvAnswer;
      case "put":
        kvAnswer[0] = true;
        kvAnswer[1] = { value: input.value, hash: input.valueHash };
        return kvAnswer;
      case "append":
        kvAnswer[0] = true;
        kvAnswer[1] = {
          value: state.value + input.value,
          hash: (Math.imul(state.hash, input.basePower) + input.valueHash) | 0,
        };
        return kvAnswer;
    }
  },
  equal: (left, right) => left.hash === right.hash && left.value === right.value,
  hash: (state) => state.hash,
  call(invoke, completion) {
    if (completion?.type === "fail") return null;
    const unknown = outcomeUnknown(completion);
    const key = invoke.key;
    if (key === undefined) throw new ModelInputError(invoke.index, "kv operations need a `key`");
    switch (invoke.f) {
      case "get":
        if (unknown) return null;
        return {
          input: { kind: "get", key, value: "", valueHash: 0, basePower: 1 },
          output: stringArgument(completion!.value, invoke, "a get's result"),
        };
      case "put":
      case "append": {
        const value = stringArgument(invoke.value, invoke, `the ${invoke.f} value`);
        const [valueHash, basePower] = polynomialHash(value);
        return { input: { kind: invoke.f, key, value, valueHash, basePower }, output: undefined };
      }
      default:
        throw new ModelInputError(
          invoke.index,
          `kv has no operation \`${invoke.f}\` (expected get, put or append)`,
        );
    }
  },
  readOnly: (input) => input.kind === "get",
  partitionKey: (input) => input.key,
  describeOperation(input, output) {
    if (input.kind === "get")
      return `get('${input.key}') -> ${output === undefined ? "unknown" : `'${output}'`}`;
    return `${input.kind}('${input.key}', '${input.value}')`;
  },
  describeState: (state) => `'${state.value}'`,
};

/** The models the linearizability checker knows by name, as they read Porcupine's logs. */
export const linearizableModels: Readonly<Record<string, AnyModel>> = {
  "cas-register": casRegisterModel,
  register: keyedRegisterModel,
  kv: kvModel,
};

/**
 * The model called `name` as it reads a history written under `convention`, or `undefined`
 * for an unknown name. Only cas-register reads the two differently: kv and register already
 * treat a `fail` as "did not happen", and register's nil is an absent key in every format.
 */
export function linearizableModelFor(
  name: string,
  convention: HistoryConvention,
): AnyModel | undefined {
  if (name === "cas-register")
    return convention === "jepsen" ? jepsenCasRegisterModel : casRegisterModel;
  return Object.hasOwn(linearizableModels, name) ? linearizableModels[name] : undefined;
}
