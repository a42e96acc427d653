// Types of bin/entry.js (plain JavaScript: it runs before anything could transpile TypeScript).
export interface Entry {
  kind: "compiled" | "source";
  /** The module to import: dist/<program>.js or the program's .ts source. */
  url: string;
  /** Why the source runs (no build, a changed file); empty for the build. */
  reason: string;
}
export const buildInfoPath: string;
export const programs: Record<"cli" | "node", { source: string; bundle: string }>;
export function chooseEntry(program?: "cli" | "node", root?: string): Entry;
export function staleBecause(root?: string): string | undefined;
