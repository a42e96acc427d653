// A writer process for the kill -9 tests (lesson 5, "systems that never stop"): it puts key-0,
// key-1, ... with sync `always` and prints `ack key-N` only once the store says the write is on
// disk, so every line the test reads is a write the store promised to keep. The test kills it
// mid-stream.
//
//   node bin/run-ts.js cluster/storage/testing/writer.ts FOLDER COUNT [FILE_BYTES_MAX [WRITERS]]
//
// Without WRITERS: one put after another, each acknowledged when put() returns (one fsync each).
// With WRITERS: that many concurrent writers over a group-commit store; each acknowledges its
// write when afterCommit calls back, so many writes share one fsync.

import fs from "node:fs";
import { BitcaskStore } from "../bitcask.ts";

const [folder, countText, fileBytesMaxText, writersText] = process.argv.slice(2);
const count = Number(countText);
const fileBytesMax = fileBytesMaxText === undefined ? undefined : Number(fileBytesMaxText);
const writers = writersText === undefined ? undefined : Number(writersText);
if (
  folder === undefined ||
  !Number.isInteger(count) ||
  count < 1 ||
  (writers !== undefined && (!Number.isInteger(writers) || writers < 1))
) {
  console.error(
    "usage: writer.ts FOLDER COUNT [FILE_BYTES_MAX [WRITERS]] (COUNT, WRITERS positive integers)",
  );
  process.exit(3);
}

/** fs.writeSync, not console.log: the line leaves this process before anything else happens. */
function acknowledge(index: number): void {
  fs.writeSync(1, `ack key-${index}\n`);
}

try {
  const store = BitcaskStore.open({
    folder,
    syncPolicy: { kind: "always" },
    groupCommit: writers !== undefined,
    ...(fileBytesMax === undefined ? {} : { fileBytesMax }),
  });
  if (writers === undefined) {
    for (let index = 0; index < count; index++) {
      store.put(`key-${index}`, writerValue(index));
      acknowledge(index);
    }
    store.close();
  } else {
    let next = 0;
    const writeOne = (): void => {
      if (next >= count) return;
      const index = next++;
      store.put(`key-${index}`, writerValue(index));
      store.afterCommit((error) => {
        if (error !== undefined) throw error;
        acknowledge(index);
        writeOne();
      });
    };
    for (let writer = 0; writer < writers; writer++) writeOne();
  }
} catch (error) {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
}

/** The value the writer stores under key-N (the test checks it byte for byte). */
function writerValue(index: number): string {
  return `value-${index}-${"x".repeat(index % 50)}`;
}
