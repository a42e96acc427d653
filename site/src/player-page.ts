// The simulation player's own page (lesson 3): ?scenario=partition&seed=42&schedule=... replays
// a run someone shared with "replay this run". The player is imported directly here (one
// request less before the first frame); lesson pages load it lazily instead.

import { errorMessage } from "./dom.ts";
import { mountPlayer } from "./player.ts";

const app = document.querySelector<HTMLElement>("#app")!;
const query = new URLSearchParams(window.location.search);
const seedText = query.get("seed");
const seed = seedText === null ? undefined : Number(seedText);
try {
  if (seed !== undefined && !(Number.isSafeInteger(seed) && seed >= 0)) {
    throw new RangeError(
      `Expected \`seed\` to be a whole number from 0, got ${JSON.stringify(seedText)}`,
    );
  }
  mountPlayer(app, {
    scenario: query.get("scenario") ?? "partition",
    ...(seed === undefined ? {} : { seed }),
    ...(query.get("schedule") === null ? {} : { schedule: query.get("schedule")! }),
  });
} catch (error) {
  const line = document.createElement("p");
  line.className = "error";
  line.textContent = errorMessage(error);
  app.append(line);
  app.dataset.error = errorMessage(error);
}
