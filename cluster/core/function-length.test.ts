// Functions short enough to see whole (TIGER_STYLE, and every lesson: a learner reads these
// files). Every function in cluster/core, methods, arrows and constructors included, spans at
// most `functionLineCountMax` lines, measured with the TypeScript compiler's own parser. The
// measure is itself tested on a function one line too long, so that this test can fail.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

export const functionLineCountMax = 70;

interface FunctionSpan {
  file: string;
  name: string;
  line: number;
  lineCount: number;
}

/** Every function-like node in `text` with its line span (first line to last, inclusive). */
export function functionSpans(file: string, text: string): FunctionSpan[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const spans: FunctionSpan[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && "body" in node && node.body !== undefined) {
      const first = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
      const last = source.getLineAndCharacterOfPosition(node.getEnd()).line;
      spans.push({ file, name: nameOf(node), line: first + 1, lineCount: last - first + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return spans;
}

function nameOf(node: ts.Node): string {
  const named = node as { name?: ts.Node };
  if (named.name !== undefined) return named.name.getText();
  if (ts.isConstructorDeclaration(node)) return "constructor";
  const parent = node.parent;
  if (
    parent !== undefined &&
    (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent))
  ) {
    return parent.name.getText();
  }
  return "(anonymous)";
}

const coreFolder = import.meta.dirname;

describe("function length in cluster/core", () => {
  it(`no function is longer than ${functionLineCountMax} lines`, () => {
    const files = readdirSync(coreFolder).filter(
      (name) => name.endsWith(".ts") && !name.endsWith(".test.ts"),
    );
    expect(files.length).toBeGreaterThan(10);
    const spans = files.flatMap((name) =>
      functionSpans(name, readFileSync(join(coreFolder, name), "utf8")),
    );
    const longest = spans.reduce((a, b) => (b.lineCount > a.lineCount ? b : a));
    console.log(
      `longest function: ${longest.file}:${longest.line} ${longest.name} (${longest.lineCount} lines)`,
    );
    const tooLong = spans
      .filter((span) => span.lineCount > functionLineCountMax)
      .map((span) => `${span.file}:${span.line} ${span.name} (${span.lineCount} lines)`);
    expect(tooLong).toEqual([]);
  });

  it("the measure catches a function one line too long, and counts methods and arrows", () => {
    const body = Array.from({ length: functionLineCountMax - 2 }, (_, index) => `  f(${index});`);
    const text = [
      `function tooLong() {`,
      ...body,
      `  f();`,
      `}`,
      `class A { method() {`,
      `  return 1;`,
      `} }`,
      `const arrow = () => {`,
      `  return 2;`,
      `};`,
    ].join("\n");
    const spans = functionSpans("fixture.ts", text);
    expect(spans.map(({ name, lineCount }) => [name, lineCount])).toEqual([
      ["tooLong", functionLineCountMax + 1],
      ["method", 3],
      ["arrow", 3],
    ]);
  });
});
