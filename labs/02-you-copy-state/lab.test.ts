// Lab 02 grader, proven: the solution passes, the starter and every mistake fail.
import { labTests } from "../kit/testing.ts";

labTests("02");
