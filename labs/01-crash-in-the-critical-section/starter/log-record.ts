// Lab 01, the world is concurrent: a crash in the critical section. The file you write.
//
// A node that changes its state with two writes ("debit alice", then "credit bob") can be
// killed between them, and then its disk holds a state no one ever meant. Make every change ONE
// record appended to a log, and make the record check itself, so that after a crash the node
// can tell a whole record from a torn one:
//
//   offset  bytes  field
//   0       4      payload length in bytes (big-endian u32)
//   4       4      CRC-32 of the payload (crc32 from cluster/storage/crc32.ts)
//   8       n      the payload, UTF-8
//
// Grade it: npx neverstop lab 01      (the reference: npx neverstop lab 01 --solution)

import { crc32 } from "../../../cluster/storage/crc32.ts";

/** The 8-byte header: length, then CRC. */
export const headerBytes = 8;

/**
 * Encodes one log entry as one record: header and payload in ONE array, so that the writer
 * appends it with a single write. Any string is a valid payload, the empty one included.
 */
export function encodeRecord(payload: string): Uint8Array {
  void crc32;
  throw new Error(`encodeRecord is not written yet (payload ${JSON.stringify(payload)})`);
}

/**
 * Reads a log from its first byte: every whole, intact record in order, and `validBytes`, the
 * offset just after the last of them.
 *
 * The subtle part: a crash can cut the LAST record anywhere, even inside its 8-byte header, and
 * a disk can flip a bit. Stop at the first record that is cut short or whose CRC does not match,
 * and return nothing after it, even records that look fine: the log is a sequence, and a
 * record after a hole is not "the state after" anything. Never throw on bad bytes. The writer
 * truncates the log to `validBytes` before it appends again; a record appended after garbage
 * would be lost at the next scan.
 */
export function scanLog(bytes: Uint8Array): { records: string[]; validBytes: number } {
  throw new Error(`scanLog is not written yet (${bytes.length} bytes)`);
}
