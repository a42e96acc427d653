// EDN, the Clojure data notation Jepsen writes its histories in (lesson 1, the world is
// concurrent: histories recorded by other tools can be replayed and checked here).
//
// A reader and a writer for the part of EDN that histories use: vectors `[...]`, lists
// `(...)`, maps `{...}`, sets `#{...}`, keywords `:type`, symbols, strings with escapes,
// integers, floats, `nil`, `true`/`false`, `;` comments, and commas as whitespace. Tagged
// literals (`#inst "..."`) keep their tag and value; `#_` discards the next form.
//
// Maps keep their entries in order as pairs, because Jepsen's keys are keywords and a
// JavaScript Map would compare keyword objects by identity. Bad input is an `EdnSyntaxError`
// carrying the line and a one-line reason, never a stack trace for the user.
//
// No Node built-ins: this runs in the browser too (the course site replays histories).

export class EdnKeyword {
  constructor(readonly name: string) {}
  toString(): string {
    return `:${this.name}`;
  }
}

export class EdnSymbol {
  constructor(readonly name: string) {}
  toString(): string {
    return this.name;
  }
}

export class EdnList {
  constructor(readonly items: EdnValue[]) {}
}

export class EdnSet {
  constructor(readonly items: EdnValue[]) {}
}

export class EdnMap {
  constructor(readonly entries: Array<[EdnValue, EdnValue]>) {}

  /** The value under keyword `:name`, or `undefined` when absent. */
  get(name: string): EdnValue | undefined {
    for (const [key, value] of this.entries) {
      if (key instanceof EdnKeyword && key.name === name) return value;
    }
    return undefined;
  }
}

export class EdnTagged {
  constructor(
    readonly tag: string,
    readonly value: EdnValue,
  ) {}
}

/** Vectors are plain arrays; every other collection has its own class. */
export type EdnValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | EdnKeyword
  | EdnSymbol
  | EdnList
  | EdnSet
  | EdnMap
  | EdnTagged
  | EdnValue[];

export class EdnSyntaxError extends Error {
  constructor(
    readonly line: number,
    readonly reason: string,
  ) {
    super(`line ${line}: ${reason}`);
    this.name = "EdnSyntaxError";
  }
}

/** One top-level form and the line (from 1) where it starts. */
export interface EdnForm {
  value: EdnValue;
  line: number;
}

/** Nesting deeper than this is refused: a history is shallow, a runaway input is not. */
export const ednDepthMax = 64;
/** Inputs longer than this are refused before reading. */
export const ednLengthMax = 512 * 1024 * 1024;

const delimiters = new Set(["(", ")", "[", "]", "{", "}", '"', ";"]);

function isWhitespace(code: number): boolean {
  // space, tab, newline, carriage return, form feed, comma
  return code === 32 || code === 9 || code === 10 || code === 13 || code === 12 || code === 44;
}

class Reader {
  position = 0;
  line = 1;

  constructor(readonly text: string) {}

  fail(reason: string, line = this.line): never {
    throw new EdnSyntaxError(line, reason);
  }

  /** Skips whitespace, commas and comments; returns false at the end of the text. */
  skipBlank(): boolean {
    const text = this.text;
    while (this.position < text.length) {
      const code = text.charCodeAt(this.position);
      if (code === 10) {
        this.line += 1;
        this.position += 1;
      } else if (isWhitespace(code)) {
        this.position += 1;
      } else if (code === 59) {
        // `;` comment to the end of the line
        while (this.position < text.length && text.charCodeAt(this.position) !== 10)
          this.position += 1;
      } else {
        return true;
      }
    }
    return false;
  }

  readForm(depth: number): EdnValue {
    if (depth > ednDepthMax) this.fail(`nesting deeper than ${ednDepthMax} levels`);
    if (!this.skipBlank()) this.fail("unexpected end of input");
    const text = this.text;
    const character = text[this.position]!;
    switch (character) {
      case "[":
        this.position += 1;
        return this.readItems("]", depth);
      case "(":
        this.position += 1;
        return new EdnList(this.readItems(")", depth));
      case "{":
        return this.readMap(depth);
      case '"':
        return this.readString();
      case "#":
        return this.readDispatch(depth);
      case ")":
      case "]":
      case "}":
        return this.fail(`unexpected \`${character}\``);
      case "\\":
        return this.readCharacter();
      default:
        return this.readAtom();
    }
  }

  readItems(closing: string, depth: number): EdnValue[] {
    const startLine = this.line;
    const items: EdnValue[] = [];
    for (;;) {
      if (!this.skipBlank()) this.fail(`unclosed \`${closing}\` opened on line ${startLine}`);
      if (this.text[this.position] === closing) {
        this.position += 1;
        return items;
      }
      if (this.text.startsWith("#_", this.position)) {
        this.position += 2;
        this.readForm(depth + 1);
        continue;
      }
      items.push(this.readForm(depth + 1));
    }
  }

  readMap(depth: number): EdnMap {
    const startLine = this.line;
    this.position += 1;
    const items = this.readItems("}", depth);
    if (items.length % 2 !== 0) this.fail("a map needs an even number of forms", startLine);
    const entries: Array<[EdnValue, EdnValue]> = [];
    for (let index = 0; index < items.length; index += 2)
      entries.push([items[index]!, items[index + 1]!]);
    return new EdnMap(entries);
  }

  readDispatch(depth: number): EdnValue {
    const next = this.text[this.position + 1];
    if (next === "{") {
      this.position += 2;
      return new EdnSet(this.readItems("}", depth));
    }
    if (next === "_") {
      this.position += 2;
      this.readForm(depth + 1);
      return this.readForm(depth);
    }
    this.position += 1;
    const tag = this.readToken();
    if (tag === "" || !/^[A-Za-z]/.test(tag)) this.fail(`unknown dispatch \`#${tag}\``);
    return new EdnTagged(tag, this.readForm(depth + 1));
  }

  readString(): string {
    const startLine = this.line;
    const text = this.text;
    let position = this.position + 1;
    let result = "";
    let chunkStart = position;
    for (;;) {
      if (position >= text.length) this.fail("unterminated string", startLine);
      const code = text.charCodeAt(position);
      if (code === 34) break;
      if (code === 10) this.line += 1;
      if (code !== 92) {
        position += 1;
        continue;
      }
      result += text.slice(chunkStart, position);
      const escape = text[position + 1];
      position += 2;
      switch (escape) {
        case "n":
          result += "\n";
          break;
        case "t":
          result += "\t";
          break;
        case "r":
          result += "\r";
          break;
        case "b":
          result += "\b";
          break;
        case "f":
          result += "\f";
          break;
        case '"':
        case "\\":
        case "/":
          result += escape;
          break;
        case "u": {
          const hex = text.slice(position, position + 4);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail(`bad unicode escape \`\\u${hex}\``);
          result += String.fromCharCode(parseInt(hex, 16));
          position += 4;
          break;
        }
        case undefined:
          this.fail("unterminated string", startLine);
          break;
        default:
          this.fail(`unknown string escape \`\\${escape}\``);
      }
      chunkStart = position;
    }
    result += text.slice(chunkStart, position);
    this.position = position + 1;
    return result;
  }

  readCharacter(): string {
    this.position += 1;
    const token = this.readToken();
    const named: Record<string, string> = { newline: "\n", space: " ", tab: "\t", return: "\r" };
    if (token.length === 1) return token;
    const name = named[token];
    if (name !== undefined) return name;
    if (token === "" && this.position < this.text.length) {
      // a delimiter character such as \( or \"
      this.position += 1;
      return this.text[this.position - 1]!;
    }
    return this.fail(`unknown character literal \`\\${token}\``);
  }

  readToken(): string {
    const text = this.text;
    const start = this.position;
    while (this.position < text.length) {
      const character = text[this.position]!;
      if (isWhitespace(character.charCodeAt(0)) || delimiters.has(character)) break;
      this.position += 1;
    }
    return text.slice(start, this.position);
  }

  readAtom(): EdnValue {
    const token = this.readToken();
    if (token === "") this.fail(`unexpected \`${this.text[this.position]}\``);
    if (token === "nil") return null;
    if (token === "true") return true;
    if (token === "false") return false;
    if (token.startsWith(":")) {
      if (token.length === 1) this.fail("empty keyword `:`");
      return new EdnKeyword(token.slice(1));
    }
    const first = token.charCodeAt(0);
    const signed = (first === 43 || first === 45) && token.length > 1;
    const digit = signed ? token.charCodeAt(1) : first;
    if (digit >= 48 && digit <= 57) return this.readNumber(token);
    return new EdnSymbol(token);
  }

  readNumber(token: string): number | bigint {
    const integer = /^([+-]?\d+)(N)?$/.exec(token);
    if (integer !== null) {
      const value = Number(integer[1]);
      if (Number.isSafeInteger(value)) return value;
      return BigInt(integer[1]!);
    }
    if (/^[+-]?\d+(\.\d*)?([eE][+-]?\d+)?M?$/.test(token)) return Number(token.replace(/M$/, ""));
    if (/^[+-]?\d+\/\d+$/.test(token)) {
      const [numerator, denominator] = token.split("/");
      return Number(numerator) / Number(denominator);
    }
    return this.fail(`bad number \`${token}\``);
  }
}

/** Reads every top-level form of `text`, each with the line it starts on. */
export function readEdnForms(text: string): EdnForm[] {
  if (text.length > ednLengthMax)
    throw new EdnSyntaxError(1, `input longer than ${ednLengthMax} characters`);
  const reader = new Reader(text);
  const forms: EdnForm[] = [];
  while (reader.skipBlank()) {
    if (reader.text.startsWith("#_", reader.position)) {
      reader.position += 2;
      reader.readForm(1);
      continue;
    }
    const line = reader.line;
    forms.push({ value: reader.readForm(0), line });
  }
  return forms;
}

/** Reads exactly one form; anything after it is an error. */
export function readEdn(text: string): EdnValue {
  const forms = readEdnForms(text);
  if (forms.length !== 1) {
    throw new EdnSyntaxError(forms[1]?.line ?? 1, `expected one form, found ${forms.length}`);
  }
  return forms[0]!.value;
}

function writeString(value: string): string {
  let result = '"';
  for (const character of value) {
    switch (character) {
      case '"':
        result += '\\"';
        break;
      case "\\":
        result += "\\\\";
        break;
      case "\n":
        result += "\\n";
        break;
      case "\t":
        result += "\\t";
        break;
      case "\r":
        result += "\\r";
        break;
      default: {
        const code = character.charCodeAt(0);
        result += code < 32 ? `\\u${code.toString(16).padStart(4, "0")}` : character;
      }
    }
  }
  return result + '"';
}

/** Writes a value as EDN text that `readEdn` reads back to an equal value. */
export function writeEdn(value: EdnValue): string {
  if (value === null) return "nil";
  switch (typeof value) {
    case "boolean":
      return value ? "true" : "false";
    case "number":
      if (!Number.isFinite(value)) throw new RangeError(`Expected a finite number, got ${value}`);
      // An integer beyond 2^53 written plainly would read back as a bigint: mark it a float.
      if (Number.isInteger(value) && !Number.isSafeInteger(value) && !String(value).includes("e"))
        return `${value}.0`;
      return String(value);
    case "bigint":
      return `${value}N`;
    case "string":
      return writeString(value);
    default:
      break;
  }
  if (Array.isArray(value)) return `[${value.map(writeEdn).join(" ")}]`;
  if (value instanceof EdnKeyword) return `:${value.name}`;
  if (value instanceof EdnSymbol) return value.name;
  if (value instanceof EdnList) return `(${value.items.map(writeEdn).join(" ")})`;
  if (value instanceof EdnSet) return `#{${value.items.map(writeEdn).join(" ")}}`;
  if (value instanceof EdnTagged) return `#${value.tag} ${writeEdn(value.value)}`;
  return `{${value.entries.map(([key, item]) => `${writeEdn(key)} ${writeEdn(item)}`).join(", ")}}`;
}
