// The node-only checks of labs 06 to 11 (real processes), by lab id.
import type { LabCheck } from "./lab.ts";

export const nodeChecksB: Record<string, LabCheck<never>[]> = {};
