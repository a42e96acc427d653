// Lab 01's writer process (node only): appends records made by the learner's encodeRecord to a
// log file, each with TWO writes (the first half, then the rest), so that a kill can land in
// the critical section between them. After the first half it says `half i` and waits for a line
// on stdin: the grader answers `go`, or kills the process right there. After the rest it
// fsyncs and says `ack i`: from then on the record must survive any crash.
//
//   node bin/run-ts.js labs/01-crash-in-the-critical-section/writer.node.ts LEARNER LOG FIRST

import { closeSync, fsyncSync, openSync, readSync, writeSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { writerPayload } from "./torn-disk.ts";

const [learnerFile, logFile, firstText] = process.argv.slice(2);
if (learnerFile === undefined || logFile === undefined || firstText === undefined) {
  process.stderr.write("usage: writer.node.ts LEARNER_FILE LOG_FILE FIRST_INDEX\n");
  process.exit(3);
}
const { encodeRecord } = (await import(pathToFileURL(resolve(learnerFile)).href)) as {
  encodeRecord: (payload: string) => Uint8Array;
};

/** The learner's encoder, with an exception turned into one line for the grader. */
function encode(payload: string): Uint8Array {
  try {
    return encodeRecord(payload);
  } catch (error) {
    writeSync(2, `encodeRecord threw ${String(error).split("\n")[0]}\n`);
    process.exit(1);
  }
}

const descriptor = openSync(logFile, "a");
const line = new Uint8Array(16);
for (let index = Number(firstText); ; index += 1) {
  const record = encode(writerPayload(index));
  const half = Math.max(1, Math.floor(record.length / 2));
  writeSync(descriptor, record, 0, half);
  writeSync(1, `half ${index}\n`);
  if (readSync(0, line) === 0) break; // the grader closed stdin: stop
  writeSync(descriptor, record, half, record.length - half);
  fsyncSync(descriptor);
  writeSync(1, `ack ${index}\n`);
}
closeSync(descriptor);
