// Mistake: every failure is retried, even a 400. The request itself is wrong; sending it again
// four times only quadruples the load and delays the error the caller needs to see.
import type { RetryQuestion } from "../../../chaos/harness/client.ts";

export function nextRetryDelayMs(
  question: RetryQuestion,
  random: () => number,
): number | undefined {
  if (question.attempts >= 4) return undefined;
  if (question.outcome === "info" && !question.idempotent) return undefined;
  const ceilingMs = Math.min(1_000, 20 * 2 ** (question.attempts - 1));
  const delayMs = Math.max(random() * ceilingMs, question.retryAfterMs ?? 0);
  return question.elapsedMs + delayMs <= 5_000 ? delayMs : undefined;
}
