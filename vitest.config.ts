// vitest configuration for `npm test`: every unit, integration and short chaos test.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: [
      "cluster/**/*.test.ts",
      "chaos/**/*.test.ts",
      "labs/**/*.test.ts",
      "site/**/*.test.ts",
      "cli/**/*.test.ts",
    ],
    exclude: ["node_modules/**", "chaos/suite/**/*.long.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
  },
});
