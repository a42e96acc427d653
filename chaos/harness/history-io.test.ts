// Histories in and out (lesson 1): JSON Lines, Jepsen EDN and Jepsen log lines, told apart by
// content; bad input is a typed error with a line and a reason.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  HistoryFormatError,
  detectFormat,
  formatEdn,
  formatJsonLines,
  parseEdnHistory,
  parseHistory,
} from "./history-io.ts";
import type { Operation } from "./history.ts";

const jsonl = [
  '{"index":0,"time":10,"process":0,"type":"invoke","f":"write","value":3,"key":"a"}',
  '{"index":1,"time":20,"process":0,"type":"ok","f":"write","value":3,"key":"a","node":"n1"}',
].join("\n");

const ednVector = `[{:process 0, :type :invoke, :f :read, :value nil}
 {:process 0, :type :ok, :f :read, :value 3}
 {:process :nemesis, :type :info, :f :start, :value nil}]`;

const ednLines = `; Jepsen history
{:process 0, :type :invoke, :f :cas, :value [1 2], :time 5}
{:process 0, :type :fail, :f :cas, :value [1 2], :time 9}
`;

const jepsenLog = [
  "INFO  jepsen.util - 4\t:invoke\t:write\t2",
  "INFO  jepsen.util - 4  :ok   :write 2",
  "INFO  jepsen.util - 1\t:invoke\t:cas\t[2 3]",
  "INFO  jepsen.util - 1\t:info\t:cas\t:timed-out",
].join("\n");

function errorOf(text: string): HistoryFormatError {
  try {
    parseHistory(text);
  } catch (error) {
    expect(error).toBeInstanceOf(HistoryFormatError);
    return error as HistoryFormatError;
  }
  throw new Error("expected a HistoryFormatError");
}

describe("detectFormat", () => {
  it("tells the formats apart by content", () => {
    expect(detectFormat(jsonl)).toBe("jsonl");
    expect(detectFormat(ednVector)).toBe("edn");
    expect(detectFormat(ednLines)).toBe("edn");
    expect(detectFormat(jepsenLog)).toBe("jepsen-log");
  });
});

describe("parseHistory", () => {
  it("gives each format its convention: Porcupine's for Jepsen log lines, Jepsen's otherwise", () => {
    expect(
      [jsonl, ednVector, ednLines, jepsenLog].map((text) => {
        const parsed = parseHistory(text);
        return [parsed.format, parsed.convention];
      }),
    ).toEqual([
      ["jsonl", "jepsen"],
      ["edn", "jepsen"],
      ["edn", "jepsen"],
      ["jepsen-log", "porcupine"],
    ]);
  });

  it("reads Jepsen's tagged op records, one a line or in a vector", () => {
    const record = (index: number, type: string) =>
      `#jepsen.history.Op{:index ${index}, :time ${index * 10}, :type :${type}, :process 0, :f :write, :value 1}`;
    const lines = `${record(0, "invoke")}\n${record(1, "ok")}\n`;
    const vector = `[${record(0, "invoke")}\n ${record(1, "ok")}]\n`;
    for (const text of [lines, vector]) {
      const parsed = parseHistory(text);
      expect(parsed.format).toBe("edn");
      expect(parsed.lines).toEqual([1, 2]);
      expect(parsed.operations.map((operation) => [operation.type, operation.time])).toEqual([
        ["invoke", 0],
        ["ok", 10],
      ]);
    }
    // Any other tagged value is still not an op.
    expect(() => parseHistory('#inst "2024-01-01"\n')).toThrow(HistoryFormatError);
  });

  it("reads JSON Lines as they are", () => {
    const { operations, format } = parseHistory(jsonl);
    expect(format).toBe("jsonl");
    expect(operations[1]).toEqual({
      index: 1,
      time: 20,
      process: 0,
      type: "ok",
      f: "write",
      value: 3,
      key: "a",
      node: "n1",
    });
  });

  it("reads a top-level EDN vector, with line numbers and nemesis operations", () => {
    const { operations, lines } = parseHistory(ednVector);
    expect(
      operations.map((operation) => [
        operation.process,
        operation.type,
        operation.f,
        operation.value,
      ]),
    ).toEqual([
      [0, "invoke", "read", null],
      [0, "ok", "read", 3],
      ["nemesis", "info", "start", null],
    ]);
    expect(lines).toEqual([1, 2, 3]);
    // Index and time come from order when the source has none.
    expect(operations.map((operation) => operation.index)).toEqual([0, 1, 2]);
  });

  it("reads bare EDN maps one per line, keeping given times", () => {
    const { operations, lines } = parseHistory(ednLines);
    expect(operations.map((operation) => operation.time)).toEqual([5, 9]);
    expect(operations[1]!.value).toEqual([1, 2]);
    expect(lines).toEqual([2, 3]);
  });

  it("reads Jepsen log lines split on tabs or spaces", () => {
    const { operations } = parseHistory(jepsenLog);
    expect(
      operations.map((operation) => [
        operation.process,
        operation.type,
        operation.f,
        operation.value,
      ]),
    ).toEqual([
      [4, "invoke", "write", 2],
      [4, "ok", "write", 2],
      [1, "invoke", "cas", [2, 3]],
      [1, "info", "cas", "timed-out"],
    ]);
    expect(operations.map((operation) => operation.time)).toEqual([0, 1, 2, 3]);
  });

  it.each([
    ["a truncated JSON line", jsonl + '\n{"index":2,"time":30,"proc', 3, "truncated"],
    ["a truncated log line", jepsenLog + "\nINFO  jepsen.util - 4\t:ok\t:wr", 5, "truncated"],
    ["an unclosed EDN vector", "[{:process 0, :type :invoke, :f :read, :value nil}", 1, "unclosed"],
    [
      "an unknown op type",
      '{"process":0,"type":"started","f":"read","value":null}',
      1,
      "unknown op type",
    ],
    [
      "an unknown op type in a log",
      "INFO  jepsen.util - 4\t:begin\t:write\t2",
      1,
      "unknown op type",
    ],
    [
      "a completion without an invoke",
      '{"process":0,"type":"invoke","f":"read","value":null}\n{"process":0,"type":"ok","f":"read","value":1}\n{"process":1,"type":"ok","f":"read","value":1}',
      3,
      "without an invoke",
    ],
    [
      "a second invoke on a busy process",
      "INFO  jepsen.util - 4\t:invoke\t:write\t2\nINFO  jepsen.util - 4\t:invoke\t:read\tnil",
      2,
      "still open",
    ],
    ["something else entirely", "hello world", 1, "not a history"],
    ["an empty file", "\n\n", 1, "empty history"],
  ])("refuses %s with its line", (_name, text, line, reason) => {
    const error = errorOf(text);
    expect(error.line).toBe(line);
    expect(error.reason).toContain(reason);
  });
});

const operationArbitrary = fc.record({
  process: fc.oneof(fc.nat({ max: 5 }), fc.constant("nemesis" as const)),
  type: fc.constantFrom("invoke" as const, "ok" as const, "fail" as const, "info" as const),
  f: fc.constantFrom("read", "write", "cas", "append"),
  value: fc.oneof(
    fc.constant(null),
    fc.integer(),
    fc.string(),
    fc.array(fc.integer(), { maxLength: 3 }),
  ),
  key: fc.option(fc.string({ minLength: 1 }), { nil: undefined }),
});

describe("writing", () => {
  it("round-trips through JSON Lines and EDN", () => {
    fc.assert(
      fc.property(fc.array(operationArbitrary, { maxLength: 20 }), (rows) => {
        const operations: Operation[] = rows.map((row, index) => {
          const operation: Operation = {
            index,
            time: index * 10,
            process: row.process,
            type: row.type,
            f: row.f,
            value: row.value,
          };
          if (row.key !== undefined) operation.key = row.key;
          return operation;
        });
        // parseHistory also checks pairing; random rows do not pair, so use the raw readers.
        const fromJson = formatJsonLines(operations);
        const fromEdn = formatEdn(operations);
        expect(
          fromJson
            .split("\n")
            .filter(Boolean)
            .map((line) => JSON.parse(line)),
        ).toEqual(operations);
        expect(parseEdnHistory(fromEdn).operations).toEqual(operations);
      }),
      { numRuns: 200 },
    );
  });

  it("writes Jepsen's EDN shape that parseHistory reads back", () => {
    const { operations } = parseHistory(jsonl);
    const edn = formatEdn(operations);
    expect(edn.split("\n")[0]).toBe(
      '{:index 0, :time 10, :type :invoke, :process 0, :f :write, :key "a", :value 3}',
    );
    expect(parseHistory(edn).operations).toEqual(operations);
  });
});

describe("the one-map-per-line fast path", () => {
  // A comment line at the end sends the whole text to the general EDN reader: the reference.
  const general = (text: string) => parseEdnHistory(`${text}\n; general reader`);
  const outcome = (read: () => ReturnType<typeof parseEdnHistory>) => {
    try {
      return read();
    } catch (error) {
      return String(error);
    }
  };

  it("reads exactly what the general reader reads, whatever the values", () => {
    fc.assert(
      fc.property(fc.array(operationArbitrary, { minLength: 1, maxLength: 20 }), (rows) => {
        const operations: Operation[] = rows.map((row, index) => {
          const operation: Operation = {
            index,
            time: index * 10,
            process: row.process,
            type: row.type,
            f: row.f,
            value: row.value,
          };
          if (row.key !== undefined) operation.key = row.key;
          return operation;
        });
        const text = formatEdn(operations);
        const fast = parseEdnHistory(text);
        const reference = general(text);
        expect(fast.operations).toEqual(reference.operations);
        expect(fast.lines).toEqual(reference.lines);
      }),
      { numRuns: 300 },
    );
  });

  it("agrees on the shapes at its edges, and leaves errors to the general reader", () => {
    const lines = [
      '{:process 0 :type :invoke :f :read :key "k" :value nil}',
      "{:process 1, :type :ok, :f :write, :value -0, :time 7}",
      '{:process :nemesis, :type :info, :f :start, :value "a:b c,d"}',
      '{:process 2, :type :ok, :f :cas, :value "say \\"hi\\""}',
      "{:process 3, :type :ok, :f :read, :value 1.5, :f :write}",
      "{:process 4, :type :invoke, :f :read, :value true}",
      "{:process 5, :type :invoke, :f :read, :value nil:key}",
      "{:process 5, :type :invoke, :f :read, :value\u00a0nil} ",
      "  {:process 6,, :type :invoke :f :read :value 007}\r",
    ];
    for (const line of lines) {
      expect(outcome(() => parseEdnHistory(line))).toEqual(outcome(() => general(line)));
    }
    expect(Object.is(parseEdnHistory(lines[1]!).operations[0]!.value, -0)).toBe(true);
    expect(() => parseEdnHistory("{:process 0, :type :invoke}")).toThrow(
      "line 1: expected `f` to be a name such as read or write, got undefined",
    );
    expect(() => parseEdnHistory('{:process 0, :type :invoke, :f :read, :value "x}')).toThrow(
      "line 1: unterminated string",
    );
    // A long line that fails only at its very end: with blanks that could be split between
    // pairs more than one way, the regular expression would backtrack 2^40 times here.
    const long = `{${Array.from({ length: 40 }, (_, index) => `:k${index} 1,`).join(" ")} :x 1.5}`;
    expect(() => parseEdnHistory(long)).toThrow("unknown op type");
  });
});
