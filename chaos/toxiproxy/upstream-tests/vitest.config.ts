// vitest configuration for toxiproxy-node-client's own tests (src/tests, vendored unchanged).
// They are written for jest (`jest --runInBand`, ts-jest): `expect` and `test` come from
// "@jest/globals" and `beforeAll` is a global. vitest provides the same three, so
// "@jest/globals" is aliased to vitest and globals are on. Files run one at a time, as
// --runInBand does: each file's beforeAll removes every proxy on the shared server.
// Run through chaos/toxiproxy/upstream-conformance.ts (`npm run conformance:toxiproxy-client`),
// which starts the server they expect; never part of `npm test`.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  resolve: { alias: { "@jest/globals": "vitest" } },
  test: {
    include: ["src/tests/*.spec.ts"],
    globals: true,
    fileParallelism: false,
    testTimeout: 30_000,
  },
});
