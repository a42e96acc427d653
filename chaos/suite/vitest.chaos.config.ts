// vitest configuration for `npm run chaos`: the whole chaos regression suite, long runs included
// (many seeds in the simulator). NEVERSTOP_CHAOS_SEEDS sets how many seeds each case runs.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["chaos/suite/**/*.test.ts"],
    exclude: ["node_modules/**"],
    testTimeout: 300_000,
    hookTimeout: 60_000,
    pool: "forks",
  },
});
