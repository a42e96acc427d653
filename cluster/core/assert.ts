// Assertions in the TIGER_STYLE way (every lesson): a state machine states what must always
// hold, and a broken invariant stops the node loudly instead of letting it answer wrongly. The
// real runtime turns the throw into a log line and exit status 70; the simulator's tests fail
// on the seed that broke it.

export class InvariantError extends Error {
  override name = "InvariantError";
}

/** Throws when `condition` is false; `invariant` is the sentence that should have held. */
export function assert(condition: boolean, invariant: string): asserts condition {
  if (!condition) throw new InvariantError(`invariant broken: ${invariant}`);
}

/** True when no two items are equal. For the handful of replicas a request names, comparing
 * every pair is cheaper than building a Set per request (which showed in the profile). */
export function allDistinct<T>(items: readonly T[]): boolean {
  for (let index = 1; index < items.length; index += 1) {
    for (let other = 0; other < index; other += 1) {
      if (items[index] === items[other]) return false;
    }
  }
  return true;
}
