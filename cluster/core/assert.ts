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
