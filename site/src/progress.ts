// Lesson progress (every lesson): which lessons a learner has opened and finished, kept in
// localStorage under one key so it survives a reload and never leaves the browser. A browser
// that refuses storage (private mode, a file: page) simply forgets: progress is a convenience.

export type LessonState = "opened" | "done";

const storageKey = "neverstop:progress";

export function readProgress(): Record<string, LessonState> {
  try {
    const parsed: unknown = JSON.parse(window.localStorage.getItem(storageKey) ?? "{}");
    if (parsed === null || typeof parsed !== "object") return {};
    const result: Record<string, LessonState> = {};
    for (const [id, state] of Object.entries(parsed as Record<string, unknown>)) {
      if (state === "opened" || state === "done") result[id] = state;
    }
    return result;
  } catch {
    return {};
  }
}

export function writeProgress(id: string, state: LessonState): void {
  try {
    const progress = readProgress();
    // Opening a finished lesson again does not undo it.
    if (state === "opened" && progress[id] === "done") return;
    progress[id] = state;
    window.localStorage.setItem(storageKey, JSON.stringify(progress));
  } catch {
    // No storage: nothing to keep.
  }
}
