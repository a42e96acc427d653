// Immutable plain-JSON values (lesson 2, "copy state instead of locating it"). Nodes share
// nothing: a message is a copy, and a stored version is bytes on a disk. Copying for real (a JSON
// round trip per message, a JSON.parse per read) is what the simulator and the node used to do,
// and it was most of their time. Erlang meets the same cost and answers it the same way this
// file does: a value nobody can change may be shared instead of copied (Erlang passes large
// binaries between processes by reference for exactly that reason).
//
// freezeJson makes that safe. It freezes a value all the way down, so a receiver that tried to
// change a message in place, or a node that changed a version it had read, would throw at once
// (modules run in strict mode) instead of silently changing another node's state. And it checks,
// on the same walk, that the value is plain JSON, as a real network or disk would need: a message
// holding `undefined`, a Map or a class instance would reach a peer changed over TCP, so here it
// is refused with a one-line error instead of being passed along intact.
//
//   const message = freezeJson({ type: "read-reply", id: "a:1", object });
//   message.object.clock.a = 9;   // TypeError: Cannot assign to read only property 'a'
//
// Pure and browser-safe.

/** Values nested deeper than this are refused (a message is never that deep). */
export const jsonDepthMax = 64;

/**
 * Freezes `value` and everything inside it, after checking that it is plain JSON: null,
 * booleans, finite numbers, strings, arrays and objects whose prototype is Object's (or null)
 * holding no `undefined`. Returns `value`, now frozen.
 *
 * A frozen object is taken to be frozen and checked all the way down: only this function
 * freezes values that nodes exchange, so a message that carries an already-frozen version (one
 * read from the node's cache, or received earlier) costs one look, not a walk.
 */
export function freezeJson<T>(value: T): T {
  freezeValue(value, "the value", 0);
  return value;
}

/** `name` says where the value sits (its key in its parent, or "the value") for errors. */
function freezeValue(value: unknown, name: string, depth: number): void {
  if (value === null || typeof value === "string" || typeof value === "boolean") return;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new TypeError(`Expected ${name} to be finite, got ${value}`);
    return;
  }
  if (typeof value !== "object") {
    throw new TypeError(`Expected ${name} to be plain JSON, got ${typeof value}`);
  }
  if (Object.isFrozen(value)) return;
  if (depth >= jsonDepthMax) {
    throw new RangeError(`Expected ${name} to be nested at most ${jsonDepthMax} deep`);
  }
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index += 1) {
      const item: unknown = value[index];
      if (!isCheckedPrimitive(item, name)) freezeValue(item, name, depth + 1);
    }
  } else {
    const prototype = Object.getPrototypeOf(value) as unknown;
    if (prototype !== Object.prototype && prototype !== null) {
      const kind = (value as { constructor?: { name?: string } }).constructor?.name ?? "?";
      throw new TypeError(`Expected ${name} to be a plain object, got a ${kind}`);
    }
    // for-in, not Object.keys: no array per object, and a plain object inherits no keys.
    for (const key in value) {
      const field = (value as Record<string, unknown>)[key];
      if (field === undefined) {
        throw new TypeError(`Expected \`${key}\` to be a JSON value, got undefined`);
      }
      if (!isCheckedPrimitive(field, key)) freezeValue(field, key, depth + 1);
    }
  }
  Object.freeze(value);
}

/**
 * True for a string, a boolean, null or a finite number: nothing to freeze, checked here
 * without a call of freezeValue per field (most of a message's fields are such, and every
 * message is frozen on its way). False for anything else, which freezeValue then checks.
 */
function isCheckedPrimitive(value: unknown, name: string): boolean {
  if (value === null || typeof value === "string" || typeof value === "boolean") return true;
  if (typeof value !== "number") return false;
  if (!Number.isFinite(value)) throw new TypeError(`Expected ${name} to be finite, got ${value}`);
  return true;
}
