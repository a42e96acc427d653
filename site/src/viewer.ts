// The report viewer (lesson 10, and every lesson that breaks something): open a stored run's
// history.jsonl and results.json with the file picker or by dropping them, and see the same
// report as report.html, drawn by the same code (chaos/checkers/report.ts) in this page.
// Files are read locally; nothing leaves the browser.

import { renderReport, reportInputFromResults } from "../../chaos/checkers/report.ts";
import { parseHistory } from "../../chaos/harness/history-io.ts";
import { element, errorMessage } from "./dom.ts";

/** Bigger files than this are refused with one line rather than freezing the tab. */
const fileSizeMaxBytes = 200 * 1024 * 1024;

const app = document.querySelector<HTMLElement>("#app")!;
const picker = element("input", {
  type: "file",
  multiple: true,
  accept: ".jsonl,.json,.edn,.log,.txt",
  id: "report-files",
});
const drop = element(
  "div",
  { class: "drop-zone", tabindex: 0 },
  element("label", { for: "report-files" }, "Choose history.jsonl and results.json"),
  " ",
  picker,
  element("p", { class: "muted" }, "or drop them here."),
);
const status = element("p", { "aria-live": "polite" });
const frame = element("iframe", {
  title: "The run's report",
  class: "report-frame",
  sandbox: "allow-same-origin allow-popups",
});
app.append(drop, status, frame);
frame.hidden = true;

async function open(files: readonly File[]): Promise<void> {
  const texts = await Promise.all(
    files.map(async (file) => {
      if (file.size > fileSizeMaxBytes)
        throw new RangeError(`${file.name} is larger than ${fileSizeMaxBytes / 1024 / 1024} MB`);
      return { name: file.name, text: await file.text() };
    }),
  );
  const results = texts.find(
    (file) =>
      file.name.endsWith(".json") &&
      file.text.trimStart().startsWith("{") &&
      !file.text.includes('"type":"invoke"'),
  );
  const history = texts.find((file) => file !== results);
  if (history === undefined)
    throw new RangeError("Expected a history file (history.jsonl), got only results.json");
  let parsed;
  try {
    parsed = parseHistory(history.text);
  } catch (error) {
    throw new RangeError(`${history.name}: ${errorMessage(error)}`, { cause: error });
  }
  let document: unknown = {};
  if (results !== undefined) {
    try {
      document = JSON.parse(results.text);
    } catch (error) {
      throw new RangeError(`${results.name}: not JSON (${errorMessage(error)})`, { cause: error });
    }
  }
  const html = renderReport(reportInputFromResults(parsed.operations, document));
  frame.srcdoc = html;
  frame.hidden = false;
  frame.onload = () => {
    const height = frame.contentDocument?.documentElement.scrollHeight ?? 2000;
    frame.style.height = `${height + 20}px`;
    app.dataset.ready = "true";
  };
  status.textContent = `${history.name}: ${parsed.operations.length} records (${parsed.format})${results === undefined ? "; no results.json, so no verdicts" : `; verdicts from ${results.name}`}.`;
}

function handle(files: FileList | null | undefined): void {
  if (files === null || files === undefined || files.length === 0) return;
  delete app.dataset.ready;
  open([...files]).catch((error: unknown) => {
    status.textContent = `Could not open: ${errorMessage(error)}`;
    status.className = "error";
    app.dataset.error = errorMessage(error);
  });
}

picker.addEventListener("change", () => handle(picker.files));
drop.addEventListener("dragover", (event) => {
  event.preventDefault();
  drop.classList.add("dragging");
});
drop.addEventListener("dragleave", () => drop.classList.remove("dragging"));
drop.addEventListener("drop", (event) => {
  event.preventDefault();
  drop.classList.remove("dragging");
  handle(event.dataTransfer?.files);
});
