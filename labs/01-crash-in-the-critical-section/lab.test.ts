// Lab 01's grader, proven: the solution passes, the starter and every mistake fail (the kill
// mid-write on real processes included).
import { labTests } from "../kit/testing.ts";

labTests("01");
