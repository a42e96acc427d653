// The layer rule can fail (issue 9: "dependencies run one way, and an eslint rule enforces
// it"). ESLint runs with the repository's own eslint.config.js on fixture sources placed, by
// their file path, in each layer: an import up the layers is an error, one down is not.
import { fileURLToPath } from "node:url";
import { ESLint } from "eslint";
import { describe, expect, it } from "vitest";

const repositoryRoot = fileURLToPath(new URL("../", import.meta.url));
const eslint = new ESLint({ cwd: repositoryRoot });

/** The `neverstop/layers` messages ESLint gives this source at this repository path. */
async function layerErrors(path: string, source: string): Promise<string[]> {
  const [result] = await eslint.lintText(source, { filePath: `${repositoryRoot}${path}` });
  return result!.messages
    .filter((message) => message.ruleId === "neverstop/layers")
    .map((message) => message.message);
}

describe("neverstop/layers", () => {
  it("fails when cluster/ imports chaos/", async () => {
    const errors = await layerErrors(
      "cluster/runtime/real/fixture.ts",
      'import { allLinkNames } from "../../../chaos/nemesis/nemesis.ts";\nexport const names = allLinkNames;\n',
    );
    expect(errors).toEqual([
      "cluster/runtime/ may not import chaos/ (../../../chaos/nemesis/nemesis.ts): dependencies run one way, cluster/core <- cluster/storage, cluster/runtime <- chaos <- labs, site, cli",
    ]);
  });

  it("fails on re-exports and dynamic imports up the layers too", async () => {
    const source = [
      'export * from "../../../chaos/checkers/set.ts";',
      'export { down } from "../../../cli/local-cluster.ts";',
      'export const later = () => import("../../../cli/program.ts");',
    ].join("\n");
    const errors = await layerErrors("cluster/runtime/sim/fixture.ts", source);
    expect(errors.map((message) => message.split(" (")[0])).toEqual([
      "cluster/runtime/ may not import chaos/",
      "cluster/runtime/ may not import cli/",
      "cluster/runtime/ may not import cli/",
    ]);
  });

  it("fails when chaos/ imports cli/ and when cluster/core imports a runtime", async () => {
    expect(
      await layerErrors(
        "chaos/nemesis/fixture.ts",
        'import { readRecord } from "../../cli/local-cluster.ts";\nexport const read = readRecord;\n',
      ),
    ).toHaveLength(1);
    expect(
      await layerErrors(
        "cluster/core/fixture.ts",
        'import { portIsFree } from "../runtime/real/cluster.ts";\nexport const free = portIsFree;\n',
      ),
    ).toHaveLength(1);
  });

  it("lets core use the store's interface as a type, and nothing more of storage", async () => {
    const typeOnly =
      'import type { KeyValueStore } from "../storage/store.ts";\nexport type S = KeyValueStore;\n';
    expect(await layerErrors("cluster/core/fixture.ts", typeOnly)).toEqual([]);
    const value =
      'import { StoreError } from "../storage/store.ts";\nexport const E = StoreError;\n';
    expect(await layerErrors("cluster/core/fixture.ts", value)).toHaveLength(1);
  });

  it("allows every import down the layers, and a test's use of a higher layer", async () => {
    const cli = [
      'import { allLinkNames } from "../chaos/nemesis/nemesis.ts";',
      'import { portIsFree } from "../cluster/runtime/real/cluster.ts";',
      'import { hashKey } from "../cluster/core/ring.ts";',
      "export const all = [allLinkNames, portIsFree, hashKey];",
    ].join("\n");
    expect(await layerErrors("cli/fixture.ts", cli)).toEqual([]);
    const chaos =
      'import { startLocalCluster } from "../../cluster/runtime/real/cluster.ts";\nexport const start = startLocalCluster;\n';
    expect(await layerErrors("chaos/harness/fixture.ts", chaos)).toEqual([]);
    const test =
      'import { checkSet } from "../../../chaos/checkers/set.ts";\nexport const check = checkSet;\n';
    expect(await layerErrors("cluster/runtime/real/fixture.test.ts", test)).toEqual([]);
  });
});
