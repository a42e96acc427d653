// Lab 07's reference retry policy: at most 4 attempts, full-jitter exponential backoff, at least
// the server's Retry-After, a 5 s budget, and no re-sending of a non-idempotent request whose
// outcome is unknown (see the starter for the contract).
import type { RetryQuestion } from "../../../chaos/harness/client.ts";

const attemptsMax = 4;
const backoffBaseMs = 20;
const backoffMaxMs = 1_000;
const totalTimeMaxMs = 5_000;

export function nextRetryDelayMs(
  question: RetryQuestion,
  random: () => number,
): number | undefined {
  if (question.attempts >= attemptsMax || !question.retryable) return undefined;
  // Maybe applied, and not safe to apply twice: the caller must live with not knowing.
  if (question.outcome === "info" && !question.idempotent) return undefined;
  const retry = question.attempts - 1;
  const ceilingMs = Math.min(backoffMaxMs, backoffBaseMs * 2 ** retry);
  const delayMs = Math.max(random() * ceilingMs, question.retryAfterMs ?? 0);
  return question.elapsedMs + delayMs <= totalTimeMaxMs ? delayMs : undefined;
}
