#!/usr/bin/env node
// The `neverstop` command: loads the TypeScript CLI (bin/cli.ts) through tsx.
import { register } from "tsx/esm/api";

register();
await import("./cli.ts");
