// A writer process for the kill -9 test (lesson 5, "systems that never stop"): it puts
// key-0, key-1, ... with sync `always` and prints `ack key-N` only after put() has returned, so
// every line the test reads is a write the store promised to keep. The test kills it mid-stream.
//
//   node bin/run-ts.js cluster/storage/testing/writer.ts FOLDER COUNT [FILE_BYTES_MAX]

import fs from "node:fs";
import { BitcaskStore } from "../bitcask.ts";

const [folder, countText, fileBytesMaxText] = process.argv.slice(2);
const count = Number(countText);
const fileBytesMax = fileBytesMaxText === undefined ? undefined : Number(fileBytesMaxText);
if (folder === undefined || !Number.isInteger(count) || count < 1) {
  console.error("usage: writer.ts FOLDER COUNT [FILE_BYTES_MAX] (COUNT a positive integer)");
  process.exit(3);
}

try {
  const store = BitcaskStore.open({
    folder,
    syncPolicy: { kind: "always" },
    ...(fileBytesMax === undefined ? {} : { fileBytesMax }),
  });
  for (let index = 0; index < count; index++) {
    store.put(`key-${index}`, writerValue(index));
    // fs.writeSync, not console.log: the line leaves this process before the next put starts.
    fs.writeSync(1, `ack key-${index}\n`);
  }
  store.close();
} catch (error) {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
}

/** The value the writer stores under key-N (the test checks it byte for byte). */
function writerValue(index: number): string {
  return `value-${index}-${"x".repeat(index % 50)}`;
}
