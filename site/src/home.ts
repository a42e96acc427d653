// The course's front page (every lesson): marks each lesson opened or done from localStorage.

import { readProgress } from "./progress.ts";

const progress = readProgress();
let done = 0;
const items = document.querySelectorAll<HTMLLIElement>("ol.lessons li[data-lesson]");
for (const item of items) {
  const state = progress[item.dataset.lesson ?? ""];
  if (state === "done") done += 1;
  const status = item.querySelector(".status");
  if (status !== null)
    status.textContent = state === "done" ? "✓ done" : state === "opened" ? "(opened)" : "";
}
const summary = document.querySelector("#progress-summary");
if (summary !== null && items.length > 0) {
  summary.textContent = `${done} of ${items.length} lessons done.`;
}
