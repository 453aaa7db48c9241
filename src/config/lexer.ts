// Turns smtpd.conf text into tokens: words, quoted strings and punctuation, each with
// its position. Handles comments, `\` line continuation and `$macro` expansion.

import type { Diagnostic, SourcePosition } from "./errors.ts";

/** A token kind: the punctuation stands for itself. */
export type TokenKind =
  | "word"
  | "string"
  | "{"
  | "}"
  | ","
  | "="
  | "<"
  | ">"
  | "!"
  | "newline"
  | "eof";

/** One token. `value` is the text (unquoted for strings, expanded for macros). */
export interface Token {
  readonly kind: TokenKind;
  readonly value: string;
  readonly position: SourcePosition;
}

const WORD_END_REGEXP = /[\s{}<>,=!"#]/;

/** Produces tokens on demand, so macros defined by earlier lines expand in later ones. */
export class Lexer {
  #text: string;
  #file: string;
  #pos = 0;
  #line = 1;
  #lineStart = 0;
  #macros: ReadonlyMap<string, string>;
  #diagnostics: Diagnostic[];

  constructor(
    text: string,
    options: { file: string; macros: ReadonlyMap<string, string>; diagnostics: Diagnostic[] },
  ) {
    this.#text = text;
    this.#file = options.file;
    this.#macros = options.macros;
    this.#diagnostics = options.diagnostics;
  }

  /** The next token; `eof` forever at the end. */
  next(): Token {
    const text = this.#text;
    while (this.#pos < text.length) {
      const c = text[this.#pos]!;
      if (c === "\\" && (text[this.#pos + 1] === "\n" || text.startsWith("\r\n", this.#pos + 1))) {
        this.#pos += text[this.#pos + 1] === "\n" ? 2 : 3;
        this.#newLine();
        continue;
      }
      if (c === " " || c === "\t" || c === "\r") {
        this.#pos++;
        continue;
      }
      if (c === "#") {
        while (this.#pos < text.length && text[this.#pos] !== "\n") this.#pos++;
        continue;
      }
      const position = this.#position();
      if (c === "\n") {
        this.#pos++;
        this.#newLine();
        return { kind: "newline", value: "\n", position };
      }
      if (c === '"') return this.#string(position);
      if (c === "=" && text[this.#pos + 1] === ">") {
        this.#pos += 2;
        return { kind: "=", value: "=>", position };
      }
      if ("{},=<>!".includes(c)) {
        this.#pos++;
        return { kind: c as TokenKind, value: c, position };
      }
      return this.#word(position);
    }
    return { kind: "eof", value: "", position: this.#position() };
  }

  #string(position: SourcePosition): Token {
    const text = this.#text;
    let value = "";
    let i = this.#pos + 1;
    while (i < text.length && text[i] !== '"' && text[i] !== "\n") {
      if (text[i] === "\\" && i + 1 < text.length && text[i + 1] !== "\n") {
        value += text[i + 1];
        i += 2;
        continue;
      }
      value += text[i];
      i++;
    }
    if (text[i] !== '"') {
      this.#diagnostics.push({ severity: "error", message: "Unterminated string", position });
      this.#pos = i;
      return { kind: "string", value, position };
    }
    this.#pos = i + 1;
    return { kind: "string", value, position };
  }

  #word(position: SourcePosition): Token {
    const text = this.#text;
    const start = this.#pos;
    let end = start + 1;
    while (end < text.length && !WORD_END_REGEXP.test(text[end]!)) end++;
    this.#pos = end;
    const raw = text.slice(start, end);
    if (!raw.startsWith("$")) return { kind: "word", value: raw, position };
    const name = raw.slice(1);
    const value = this.#macros.get(name);
    if (value === undefined) {
      this.#diagnostics.push({
        severity: "error",
        message: `Undefined macro "$${name}"`,
        position,
      });
      return { kind: "word", value: "", position };
    }
    return { kind: "word", value, position };
  }

  #newLine(): void {
    this.#line++;
    this.#lineStart = this.#pos;
  }

  #position(): SourcePosition {
    return { file: this.#file, line: this.#line, column: this.#pos - this.#lineStart + 1 };
  }
}
