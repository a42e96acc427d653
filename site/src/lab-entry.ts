// The labs page (every lab): ?lab=03 opens that lab's editor and grader.

const app = document.querySelector<HTMLElement>("#app")!;
const lab = new URLSearchParams(window.location.search).get("lab") ?? "";
import("./lab-page.ts").then(({ mountLab }) => mountLab(app, lab));
