// Lint configuration. The rule that matters most is the last block: cluster/core is I/O-free
// (no clock, timers, randomness, process or Node built-ins), and the core, the simulator and
// the checkers import no Node built-ins so that they run in the browser too.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

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
);
