// Durations as people type them (the CLI and run options): "500ms", "30s", "2m", "1h", or a
// bare number of seconds. No Node built-ins: this file runs in the browser too.

const unitMs: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** Milliseconds, or throws a one-line RangeError naming the flag. */
export function parseDuration(text: string, name = "duration"): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(text);
  if (match === null) {
    throw new RangeError(
      `Expected \`${name}\` to be a duration like 500ms, 30s, 2m or 1h, got ${JSON.stringify(text)}`,
    );
  }
  const milliseconds = Number(match[1]) * unitMs[match[2] ?? "s"]!;
  if (!Number.isFinite(milliseconds))
    throw new RangeError(`Expected \`${name}\` to be a finite duration, got ${text}`);
  return Math.round(milliseconds);
}

/** The shortest exact form: 60000 -> "1m", 30000 -> "30s", 1500 -> "1500ms". */
export function formatDuration(milliseconds: number): string {
  for (const unit of ["h", "m", "s"] as const) {
    const size = unitMs[unit]!;
    if (milliseconds >= size && milliseconds % size === 0) return `${milliseconds / size}${unit}`;
  }
  return `${milliseconds}ms`;
}
