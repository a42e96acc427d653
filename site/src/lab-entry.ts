// The labs page (every lab): ?lab=03 opens that lab's editor and grader; without it, the list.

import { errorMessage } from "./dom.ts";

const app = document.querySelector<HTMLElement>("#app")!;
const lab = new URLSearchParams(window.location.search).get("lab");
import("./lab-page.ts")
  .then(({ mountLab, mountLabList }) => (lab === null ? mountLabList(app) : mountLab(app, lab)))
  .then(() => (app.dataset.ready = "true"))
  .catch((error: unknown) => {
    const line = document.createElement("p");
    line.className = "error";
    line.textContent = errorMessage(error);
    app.append(line);
    app.dataset.error = errorMessage(error);
  });
