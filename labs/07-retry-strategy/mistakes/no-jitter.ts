// Mistake: exponential backoff without jitter. Every client that failed at the same moment
// waits exactly as long as the others and comes back in the same millisecond, again and again.
import type { RetryQuestion } from "../../../chaos/harness/client.ts";

export function nextRetryDelayMs(
  question: RetryQuestion,
  _random: () => number,
): number | undefined {
  if (question.attempts >= 4 || !question.retryable) return undefined;
  if (question.outcome === "info" && !question.idempotent) return undefined;
  const delayMs = Math.max(
    Math.min(1_000, 20 * 2 ** (question.attempts - 1)) / 2,
    question.retryAfterMs ?? 0,
  );
  return question.elapsedMs + delayMs <= 5_000 ? delayMs : undefined;
}
