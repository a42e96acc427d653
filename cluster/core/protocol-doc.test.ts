// The protocol reference stays true (every lesson): docs/protocol.md has a section for every
// peer message type the code defines, and none for a message that no longer exists. The types
// are read from types.ts with the TypeScript parser, not listed by hand.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..", "..");

function peerMessageTypes(): string[] {
  const file = join(import.meta.dirname, "types.ts");
  const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest);
  const alias = source.statements.find(
    (statement): statement is ts.TypeAliasDeclaration =>
      ts.isTypeAliasDeclaration(statement) && statement.name.text === "PeerMessage",
  );
  if (alias === undefined || !ts.isUnionTypeNode(alias.type)) throw new Error("no PeerMessage");
  return alias.type.types.map((member) => {
    const property = (member as ts.TypeLiteralNode).members.find(
      (field) => field.name !== undefined && (field.name as ts.Identifier).text === "type",
    ) as ts.PropertySignature;
    return ((property.type as ts.LiteralTypeNode).literal as ts.StringLiteral).text;
  });
}

describe("docs/protocol.md", () => {
  it("has one section per peer message type, and no other", () => {
    const types = peerMessageTypes();
    expect(types).toContain("mint");
    const documented = [
      ...readFileSync(join(root, "docs", "protocol.md"), "utf8").matchAll(/^### (\S+)$/gm),
    ].map((match) => match[1]);
    expect([...documented].sort()).toEqual([...types].sort());
  });
});
