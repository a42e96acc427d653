// Sequential specifications for the linearizability checker (lesson 6, sharing data: what a
// single copy of a register or a key-value map would have answered, one operation at a time).
//
// A model is the contract between a data type and the checker, written here on the type the
// way Porcupine writes it. The checker never looks inside states, inputs or outputs: it only
// calls these functions. Three models ship:
//   cas-register  Porcupine's etcd model: one register of numbers or nil, read/write/cas.
//   kv            Porcupine's key-value model: get/put/append on strings, one partition a key.
//   register      neverstop's own: read/write/cas per `key`, numbers or null, initially null.
//
// A worked example of the contract, for `register`:
//   invoke {f: "cas", key: "x", value: [1, 2]} then ok   -> input {kind: cas, from 1, to 2}
//   step(1, input, output) -> [true, 2]      the value was 1, so the cas took effect
//   step(3, input, output) -> [false, 3]     an ok cas from 1 cannot happen when the value is 3
//
// No Node built-ins: this runs in the browser too.

import type { Operation } from "../harness/history.ts";

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
 *   A `fail` completion means it did not happen: return `null` and the checker drops it.
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

/**
 * Porcupine's etcd model differs from Knossos's cas-register on one point: Knossos accepts
 * any read of nil (it cannot tell nil from "unknown"); here a read that returned nil needs
 * the register to be nil, and only a read whose outcome is unknown accepts anything. The
 * Jepsen etcd corpus keeps `:fail :cas` to mean "compared and did not match" and Porcupine
 * checks that too (the value differed at that moment); `cas-register` does the same, while
 * `register` follows Jepsen's rule that a `fail` did not happen.
 */
function registerModel(
  name: string,
  failedCasObserved: boolean,
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
          if (failed && !failedCasObserved) return null;
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

export const casRegisterModel = registerModel("cas-register", true);
export const keyedRegisterModel = registerModel("register", false);

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

/** The models the linearizability checker knows by name. */
export const linearizableModels: Readonly<Record<string, AnyModel>> = {
  "cas-register": casRegisterModel,
  register: keyedRegisterModel,
  kv: kvModel,
};
