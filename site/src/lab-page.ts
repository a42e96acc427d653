// Labs graded in the page (every lab): the lab's starter file opens in a code editor
// (CodeMirror 6), "Grade" sends it to a Web Worker that compiles it and runs the lab's
// simulator checks with the same grader as `npx neverstop lab NN` (lab-worker.ts), and the
// page shows one line per check, the verdict and the failing history drawn. The learner's code
// is kept in localStorage; "Download" gives the file to drop into labs/NN-topic/starter/.
// Checks that need real processes (01's kill -9 mid-write) say so and show their command.

import { javascript } from "@codemirror/lang-javascript";
import { HighlightStyle, syntaxHighlighting } from "@codemirror/language";
import { tags } from "@lezer/highlight";
import { basicSetup, EditorView } from "codemirror";
import { findLab, labs } from "../../labs/kit/registry.ts";
import { element, errorMessage } from "./dom.ts";
import { starterSources } from "./lab-modules.ts";
import type { CheckLine, GradeRequest, LabWorkerMessage } from "./lab-worker.ts";

const storagePrefix = "neverstop:lab:";

/** Token colours with at least 4.5:1 contrast on white (the defaults fall short of it). */
const readableHighlight = HighlightStyle.define([
  { tag: [tags.keyword, tags.bool, tags.null, tags.operatorKeyword], color: "#8b1c7a" },
  { tag: [tags.string, tags.regexp, tags.special(tags.string)], color: "#1a6b1a" },
  { tag: tags.number, color: "#9a4a00" },
  {
    tag: [tags.comment, tags.lineComment, tags.blockComment],
    color: "#5c6370",
    fontStyle: "italic",
  },
  { tag: [tags.function(tags.variableName), tags.function(tags.propertyName)], color: "#0b57a4" },
  { tag: [tags.typeName, tags.className, tags.definition(tags.typeName)], color: "#7a3e00" },
  {
    tag: [tags.propertyName, tags.variableName, tags.definition(tags.variableName)],
    color: "#1d1f21",
  },
  { tag: [tags.punctuation, tags.operator, tags.bracket], color: "#3a3f45" },
]);

function stored(labId: string): string | undefined {
  try {
    return window.localStorage.getItem(storagePrefix + labId) ?? undefined;
  } catch {
    return undefined;
  }
}

function store(labId: string, source: string): void {
  try {
    window.localStorage.setItem(storagePrefix + labId, source);
  } catch {
    // No storage (private mode): the code lives as long as the page.
  }
}

/** The lab list, for lab.html without ?lab=. */
export function mountLabList(container: HTMLElement): void {
  container.append(
    element(
      "ul",
      {},
      ...labs.map((lab) =>
        element(
          "li",
          {},
          element(
            "a",
            { href: `?lab=${lab.definition.id}` },
            `${lab.definition.id}: ${lab.definition.title}`,
          ),
        ),
      ),
    ),
  );
}

function checkItem(check: CheckLine, labId: string): HTMLLIElement {
  if (check.skipped && check.needsProcess) {
    return element(
      "li",
      { class: "skipped", "data-check": check.id, "data-result": "process" },
      `${check.id} ${check.title}: needs real processes; run `,
      element("code", {}, `npx neverstop lab ${labId} --only ${check.id}`),
    );
  }
  if (check.skipped)
    return element(
      "li",
      { class: "skipped", "data-check": check.id, "data-result": "skipped" },
      `${check.id} ${check.title}: not run (an earlier check failed)`,
    );
  const time = `${check.durationMs < 1000 ? `${Math.round(check.durationMs)} ms` : `${(check.durationMs / 1000).toFixed(1)} s`}`;
  return element(
    "li",
    {
      class: check.ok ? "pass" : "fail",
      "data-check": check.id,
      "data-result": check.ok ? "pass" : "fail",
    },
    `${check.ok ? "pass" : "FAIL"} ${check.id} ${check.title} (${time})${check.message === undefined ? "" : `: ${check.message}`}`,
  );
}

export async function mountLab(container: HTMLElement, labName: string): Promise<void> {
  const lab = findLab(labName);
  if (lab === undefined) {
    container.append(
      element("p", { class: "error" }, `No lab ${JSON.stringify(labName)}. The labs:`),
    );
    mountLabList(container);
    return;
  }
  const { id, slug, title, learnerFile } = lab.definition;
  const starterPath = `labs/${slug}/starter/${learnerFile}`;
  const loadStarter = starterSources.get(starterPath);
  if (loadStarter === undefined) throw new Error(`This build has no ${starterPath}`);
  const starter = await loadStarter();
  const editorHost = element("div", { class: "lab-editor" });
  const gradeButton = element("button", { type: "button", "data-action": "grade" }, "Grade");
  const resetButton = element("button", { type: "button" }, "Back to the starter");
  const downloadButton = element("button", { type: "button" }, "Download");
  const status = element("p", { class: "lab-status", "aria-live": "polite" });
  const checkList = element("ul", { class: "check-list", "aria-label": "Checks" });
  const drawing = element("iframe", {
    title: "The failing history",
    class: "report-frame",
    sandbox: "allow-same-origin",
  });
  drawing.hidden = true;
  container.classList.add("lab");
  container.append(
    element(
      "p",
      {},
      element("strong", {}, `Lab ${id}: ${title}. `),
      "Your file: ",
      element("code", {}, starterPath),
    ),
    editorHost,
    element("div", { class: "controls" }, gradeButton, resetButton, downloadButton),
    element(
      "p",
      { class: "muted" },
      "The page runs the checks that need only your functions and the simulator. Checks on real processes (a writer killed with kill -9, a real cluster) run on your machine: ",
      element("code", {}, `npx neverstop lab ${id}`),
      ".",
    ),
    status,
    checkList,
    drawing,
  );
  const editor = new EditorView({
    doc: stored(id) ?? starter,
    extensions: [
      basicSetup,
      javascript({ typescript: true }),
      syntaxHighlighting(readableHighlight),
      EditorView.updateListener.of((update) => {
        if (update.docChanged) store(id, update.state.doc.toString());
      }),
      EditorView.contentAttributes.of({ "aria-label": `Editor for ${learnerFile}` }),
    ],
    parent: editorHost,
  });
  // A keyboard user can reach and scroll the editor's scrolling area.
  editor.scrollDOM.setAttribute("tabindex", "0");
  editor.scrollDOM.setAttribute("aria-label", `${learnerFile}, scrollable`);
  const setSource = (source: string) =>
    editor.dispatch({ changes: { from: 0, to: editor.state.doc.length, insert: source } });
  resetButton.addEventListener("click", () => setSource(starter));
  downloadButton.addEventListener("click", () => {
    const link = element("a", {
      href: URL.createObjectURL(
        new Blob([editor.state.doc.toString()], { type: "text/typescript" }),
      ),
      download: learnerFile,
    });
    link.click();
    URL.revokeObjectURL(link.href);
  });

  let worker: Worker | undefined;
  const grade = (): Promise<LabWorkerMessage & { kind: "verdict" | "error" }> =>
    new Promise((resolve) => {
      worker?.terminate();
      worker = new Worker(new URL("./lab-worker.ts", import.meta.url), { type: "module" });
      checkList.replaceChildren();
      drawing.hidden = true;
      delete container.dataset.verdict;
      status.textContent = "Compiling and grading...";
      gradeButton.disabled = true;
      worker.addEventListener("message", (event: MessageEvent<LabWorkerMessage>) => {
        const message = event.data;
        if (message.kind === "start")
          status.textContent = `Running ${message.id} ${message.title}...`;
        else if (message.kind === "note") status.textContent = `${message.id}: ${message.text}`;
        else if (message.kind === "end") checkList.append(checkItem(message.check, id));
        else {
          gradeButton.disabled = false;
          worker?.terminate();
          worker = undefined;
          if (message.kind === "error") {
            status.textContent = `Could not grade: ${message.message}`;
            container.dataset.verdict = "error";
          } else {
            checkList.replaceChildren(...message.checks.map((check) => checkItem(check, id)));
            const failing = message.checks.find((check) => !check.ok && !check.skipped);
            status.replaceChildren(
              element(
                "span",
                { class: `verdict ${message.passed ? "pass" : "fail"}` },
                message.passed ? "PASS" : "FAIL",
              ),
              ` in ${(message.wallMs / 1000).toFixed(1)} s. `,
              message.passed
                ? "Every check that runs in the browser passed."
                : `${failing?.id ?? ""} failed. Replay it with `,
              message.passed ? "" : element("code", {}, message.replayCommand),
            );
            if (failing?.drawing !== undefined) {
              drawing.onload = () => {
                const height = drawing.contentDocument?.documentElement.scrollHeight ?? 800;
                drawing.style.height = `${height + 20}px`;
              };
              drawing.srcdoc = failing.drawing;
              drawing.hidden = false;
            }
            container.dataset.verdict = message.passed ? "pass" : "fail";
            container.dataset.checks = JSON.stringify(
              message.checks.map((check) => ({
                id: check.id,
                ok: check.ok,
                skipped: check.skipped,
              })),
            );
            container.dataset.wallMs = String(message.wallMs);
          }
          resolve(message);
        }
      });
      worker.addEventListener("error", (event) => {
        gradeButton.disabled = false;
        status.textContent = `Could not grade: ${event.message}`;
        container.dataset.verdict = "error";
      });
      const request: GradeRequest = { labId: id, source: editor.state.doc.toString() };
      worker.postMessage(request);
    });
  gradeButton.addEventListener("click", () => {
    grade().catch((error: unknown) => (status.textContent = errorMessage(error)));
  });
  (container as HTMLElement & { labControl?: unknown }).labControl = {
    setSource,
    grade,
    source: () => editor.state.doc.toString(),
  };
  container.dataset.ready = "true";
}
