// Lab 03 grader, proven: the solution passes, the starter and every mistake fail
// (keep-newest.ts, last write wins, loses an add across a split).
import { labTests } from "../kit/testing.ts";

labTests("03");
