// Mistake: the backoff is right but the server's Retry-After is ignored, so an overloaded node
// hears from the clients it just refused within milliseconds.
import type { RetryQuestion } from "../../../chaos/harness/client.ts";

export function nextRetryDelayMs(
  question: RetryQuestion,
  random: () => number,
): number | undefined {
  if (question.attempts >= 4 || !question.retryable) return undefined;
  if (question.outcome === "info" && !question.idempotent) return undefined;
  const delayMs = random() * Math.min(1_000, 20 * 2 ** (question.attempts - 1));
  return question.elapsedMs + delayMs <= 5_000 ? delayMs : undefined;
}
