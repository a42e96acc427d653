/// <reference types="vite/client" />
// The modules a learner's lab file may import in the browser (every lab): the project's
// browser-safe code, each loaded lazily by its path from the repository root. A learner file
// such as labs/01-*/starter/log-record.ts imports "../../../cluster/storage/crc32.ts"; the
// worker resolves that against the file's own folder to "cluster/storage/crc32.ts" and loads
// it from here. Node-only files (*.node.ts, the real runtime, the CLI) are not in the list.

const loaders = import.meta.glob([
  "../../cluster/core/*.ts",
  "../../cluster/storage/crc32.ts",
  "../../cluster/storage/record.ts",
  "../../cluster/storage/store.ts",
  "../../cluster/storage/simulated-disk.ts",
  "../../chaos/harness/history.ts",
  "../../chaos/harness/duration.ts",
  "../../chaos/harness/faults.ts",
  "../../chaos/harness/run-options.ts",
  "../../chaos/checkers/history-view.ts",
  "../../chaos/nemesis/partitions.ts",
  "../../labs/[0-9][0-9]-*/*.ts",
  "!../../labs/*/*.node.ts",
  "!../../labs/*/*.test.ts",
  "!../../labs/*/lab.ts",
  "!../../**/*.test.ts",
]);

/** Repository-relative path ("cluster/storage/crc32.ts") -> its loader. */
export const learnerImportable = new Map(
  Object.entries(loaders).map(([path, load]) => [path.replace(/^(\.\.\/)+/, ""), load]),
);

/** Every lab's starter file, as text, by "labs/NN-topic/starter/file.ts". */
const starterLoaders = import.meta.glob("../../labs/*/starter/*.ts", {
  query: "?raw",
  import: "default",
});

export const starterSources = new Map(
  Object.entries(starterLoaders).map(([path, load]) => [
    path.replace(/^(\.\.\/)+/, ""),
    load as () => Promise<string>,
  ]),
);

/** Resolves `specifier` as imported from the file at `fromPath` (both repository-relative). */
export function resolveImport(fromPath: string, specifier: string): string | undefined {
  if (!specifier.startsWith(".")) return undefined;
  const parts = fromPath.split("/").slice(0, -1);
  for (const segment of specifier.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") {
      if (parts.length === 0) return undefined;
      parts.pop();
    } else parts.push(segment);
  }
  return parts.join("/");
}
