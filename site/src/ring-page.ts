// The ring explorer's own page (lesson 4): the widget, with its state from the URL query.

import { mountRingExplorer, stateFromQuery } from "./ring-explorer.ts";

const app = document.querySelector<HTMLElement>("#app")!;
mountRingExplorer(app, stateFromQuery(window.location.search));
app.dataset.ready = "true";
