// The node-only checks of labs 00 to 05 (real processes), by lab id.
import { killMidWrite } from "../01-crash-in-the-critical-section/lab.node.ts";
import { ringOnRealNodes } from "../04-the-ring/lab.node.ts";
import type { LabCheck } from "./lab.ts";

export const nodeChecksA: Record<string, LabCheck<never>[]> = {
  "01": [killMidWrite as LabCheck<never>],
  "04": [ringOnRealNodes as LabCheck<never>],
};
