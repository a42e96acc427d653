// Mistake: at-least-once for everything. A timed-out increment is re-sent like any other
// request, so an increment that had landed (only its answer was lost) is applied twice.
import type { RetryQuestion } from "../../../chaos/harness/client.ts";

export function nextRetryDelayMs(
  question: RetryQuestion,
  random: () => number,
): number | undefined {
  if (question.attempts >= 4 || !question.retryable) return undefined;
  const ceilingMs = Math.min(1_000, 20 * 2 ** (question.attempts - 1));
  const delayMs = Math.max(random() * ceilingMs, question.retryAfterMs ?? 0);
  return question.elapsedMs + delayMs <= 5_000 ? delayMs : undefined;
}
