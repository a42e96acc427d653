// Lab 11's grader, proven: the solution passes, the starter and every mistake fail, each on the
// check that names the property it breaks.
import { labTests } from "../kit/testing.ts";

labTests("11");
