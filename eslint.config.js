// Lint configuration. Two rules shape the code. cluster/core is I/O-free (no clock, timers,
// randomness, process or Node built-ins), and the core, the simulator and the checkers import
// no Node built-ins so that they run in the browser too. And dependencies run one way (the
// `neverstop/layers` rule below): cluster/core <- cluster/storage and cluster/runtime <- chaos
// <- labs, site and cli, so that a learner can read each layer without the ones above it.
import { dirname, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import js from "@eslint/js";
import tseslint from "typescript-eslint";

const repositoryRoot = dirname(fileURLToPath(import.meta.url));

/**
 * Each layer and the folders it may import from (its own included). Tests are exempt: a test
 * may use a higher layer as its instrument (a checker judging a real cluster's history).
 * bin/ and scripts/ sit above everything.
 */
const layers = [
  // The one crossing: core writes through the store's interface, a type with no code in it.
  // (The interface could move into core, with storage implementing it; until then, types only.)
  { folder: "cluster/core", mayImport: ["cluster/core"], typesFrom: ["cluster/storage/store.ts"] },
  { folder: "cluster/storage", mayImport: ["cluster/core", "cluster/storage"] },
  { folder: "cluster/runtime", mayImport: ["cluster/core", "cluster/storage", "cluster/runtime"] },
  { folder: "chaos", mayImport: ["cluster", "chaos"] },
  { folder: "labs", mayImport: ["cluster", "chaos", "labs"] },
  { folder: "site", mayImport: ["cluster", "chaos", "labs", "site"] },
  { folder: "cli", mayImport: ["cluster", "chaos", "labs", "site", "cli"] },
];
const layerFolders = [
  "cluster/core",
  "cluster/storage",
  "cluster/runtime",
  "chaos",
  "labs",
  "site",
  "cli",
  "bin",
  "scripts",
];

/** The layer folder a repository-relative path lies in, or undefined (node_modules, the root). */
function layerOf(path) {
  return layerFolders.find((folder) => path === folder || path.startsWith(`${folder}/`));
}

/** `neverstop/layers`: an import that points up the layers (or sideways between siblings) fails. */
const layersRule = {
  meta: {
    type: "problem",
    docs: {
      description: "dependencies run one way: core <- storage, runtime <- chaos <- labs, site, cli",
    },
    schema: [],
  },
  create(context) {
    const file = relative(repositoryRoot, context.filename).split(sep).join("/");
    const layer = layers.find((each) => file.startsWith(`${each.folder}/`));
    if (layer === undefined) return {};
    const check = (node, source) => {
      if (typeof source !== "string" || !source.startsWith(".")) return;
      const target = relative(repositoryRoot, resolve(dirname(context.filename), source))
        .split(sep)
        .join("/");
      const typesOnly = node.importKind === "type" || node.exportKind === "type";
      if (typesOnly && (layer.typesFrom ?? []).includes(target)) return;
      const targetLayer = layerOf(target);
      if (targetLayer === undefined) return;
      const allowed = layer.mayImport.some(
        (folder) => targetLayer === folder || targetLayer.startsWith(`${folder}/`),
      );
      if (!allowed) {
        context.report({
          node,
          message: `${layer.folder}/ may not import ${targetLayer}/ (${source}): dependencies run one way, cluster/core <- cluster/storage, cluster/runtime <- chaos <- labs, site, cli`,
        });
      }
    };
    return {
      ImportDeclaration: (node) => check(node, node.source.value),
      ExportNamedDeclaration: (node) => check(node, node.source?.value),
      ExportAllDeclaration: (node) => check(node, node.source.value),
      ImportExpression: (node) =>
        check(node, node.source.type === "Literal" ? node.source.value : undefined),
    };
  },
};

const ioFreeGlobals = [
  { name: "Date", message: "cluster/core is I/O-free: read time through env.now()." },
  { name: "setTimeout", message: "cluster/core is I/O-free: use env.setTimer()." },
  { name: "setInterval", message: "cluster/core is I/O-free: use env.setTimer()." },
  { name: "setImmediate", message: "cluster/core is I/O-free: use env.setTimer()." },
  { name: "queueMicrotask", message: "cluster/core is I/O-free: use env.setTimer()." },
  {
    name: "process",
    message: "cluster/core is I/O-free: configuration comes in through the node's options.",
  },
  { name: "performance", message: "cluster/core is I/O-free: read time through env.now()." },
  { name: "fetch", message: "cluster/core is I/O-free: send messages through env.send()." },
  { name: "Buffer", message: "cluster/core runs in the browser too: use Uint8Array." },
  { name: "require", message: "ESM only." },
];
const noNodeImports = {
  patterns: [
    { group: ["node:*"], message: "This module runs in the browser too: no Node built-ins." },
    {
      group: [
        "fs",
        "net",
        "http",
        "crypto",
        "os",
        "path",
        "child_process",
        "dgram",
        "tls",
        "worker_threads",
      ],
      message: "This module runs in the browser too: no Node built-ins.",
    },
  ],
};

export default tseslint.config(
  {
    ignores: [
      "node_modules/**",
      "store/**",
      ".neverstop/**",
      "site/dist/**",
      "dist/**",
      "dist.*/**",
      "**/*.d.ts",
      // toxiproxy-node-client's own code and tests, vendored unchanged: not ours to restyle.
      "chaos/toxiproxy/upstream-tests/**",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        console: "readonly",
        process: "readonly",
        Buffer: "readonly",
        setTimeout: "readonly",
        clearTimeout: "readonly",
        setInterval: "readonly",
        clearInterval: "readonly",
        setImmediate: "readonly",
        URL: "readonly",
        TextEncoder: "readonly",
        TextDecoder: "readonly",
        performance: "readonly",
        fetch: "readonly",
        AbortController: "readonly",
        AbortSignal: "readonly",
        structuredClone: "readonly",
        queueMicrotask: "readonly",
        globalThis: "readonly",
        document: "readonly",
        window: "readonly",
        crypto: "readonly",
      },
    },
    rules: {
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_" },
      ],
      "@typescript-eslint/no-non-null-assertion": "off",
    },
  },
  {
    files: [
      "cluster/core/**/*.ts",
      "cluster/runtime/sim/**/*.ts",
      "cluster/storage/simulated-disk.ts",
      "cluster/storage/record.ts",
      "cluster/storage/crc32.ts",
      "cluster/storage/store.ts",
      "chaos/checkers/**/*.ts",
      "chaos/nemesis/partitions.ts",
    ],
    ignores: ["**/*.test.ts", "**/bench-*.ts", "**/*.node.ts"],
    rules: { "no-restricted-imports": ["error", noNodeImports] },
  },
  {
    files: ["cluster/core/**/*.ts"],
    ignores: ["**/*.test.ts"],
    rules: {
      "no-restricted-globals": ["error", ...ioFreeGlobals],
      "no-restricted-properties": [
        "error",
        {
          object: "Math",
          property: "random",
          message: "cluster/core is I/O-free: draw randomness through env.random().",
        },
      ],
      "no-restricted-syntax": [
        "error",
        {
          selector: "NewExpression[callee.name='Date']",
          message: "cluster/core is I/O-free: read time through env.now().",
        },
      ],
    },
  },
  {
    files: ["**/*.ts", "**/*.js"],
    ignores: ["**/*.test.ts"],
    plugins: { neverstop: { rules: { layers: layersRule } } },
    rules: { "neverstop/layers": "error" },
  },
);
