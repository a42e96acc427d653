// Mistake: no bound on attempts or time. A request to a cluster that stays down never ends,
// and every client piles more work onto it.
import type { RetryQuestion } from "../../../chaos/harness/client.ts";

export function nextRetryDelayMs(
  question: RetryQuestion,
  random: () => number,
): number | undefined {
  if (!question.retryable) return undefined;
  if (question.outcome === "info" && !question.idempotent) return undefined;
  const ceilingMs = Math.min(1_000, 20 * 2 ** Math.min(question.attempts - 1, 10));
  return Math.max(random() * ceilingMs, question.retryAfterMs ?? 0);
}
