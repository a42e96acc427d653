// A lesson page's script (every lesson): records progress, and fills each widget place the
// build left (a <figure data-widget>) with its live widget. Widgets load lazily, each in its
// own chunk, so a lesson ships little JavaScript until a widget scrolls into view.

import { readProgress, writeProgress } from "./progress.ts";

const lessonId = document.body.dataset.lesson ?? "";
writeProgress(lessonId, "opened");
const done = document.querySelector<HTMLInputElement>("#lesson-done");
if (done !== null) {
  done.disabled = false;
  done.checked = readProgress()[lessonId] === "done";
  done.addEventListener("change", () => writeProgress(lessonId, done.checked ? "done" : "opened"));
}

interface WidgetSpec {
  kind: "ring" | "player" | "lab";
  positional: string[];
  options: Record<string, string>;
}

async function mount(figure: HTMLElement): Promise<void> {
  const spec = JSON.parse(figure.dataset.spec ?? "{}") as WidgetSpec;
  figure.replaceChildren();
  switch (spec.kind) {
    case "ring": {
      const { mountRingExplorer } = await import("./ring-explorer.ts");
      return mountRingExplorer(figure);
    }
    case "player": {
      const { mountPlayer } = await import("./player.ts");
      return mountPlayer(figure, { scenario: spec.options["scenario"] ?? "partition" });
    }
    case "lab": {
      const { mountLab } = await import("./lab-page.ts");
      return mountLab(figure, spec.positional[0] ?? "");
    }
  }
}

const figures = [...document.querySelectorAll<HTMLElement>("figure.widget[data-spec]")];
const observer = new IntersectionObserver(
  (entries) => {
    for (const entry of entries) {
      if (!entry.isIntersecting) continue;
      observer.unobserve(entry.target);
      const figure = entry.target as HTMLElement;
      mount(figure)
        .then(() => (figure.dataset.ready = "true"))
        .catch((error: unknown) => {
          const message = error instanceof Error ? error.message : String(error);
          const line = document.createElement("p");
          line.className = "error";
          line.textContent = `This widget failed: ${message}`;
          figure.append(line);
          figure.dataset.error = message;
        });
    }
  },
  { rootMargin: "200px" },
);
for (const figure of figures) observer.observe(figure);
