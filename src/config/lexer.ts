// Turns smtpd.conf text into tokens: words, quoted strings and punctuation, each with
// its position. Handles comments, `\` line continuation and `$macro` expansion.

import { type Diagnostic, type SourcePosition, StatementError } from "./errors.ts";

/**
 * The longest physical line read. Longer lines are refused before they are tokenized, so
 * a hostile file costs time in proportion to its size and its errors stay short.
 */
export const MAX_LINE_LENGTH = 65_536;

/** The longest word or quoted string (OpenSMTPD's own lexer refuses strings over 8 KB). */
export const MAX_TOKEN_LENGTH = 8_192;

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

// What may stand as a bare word in printed text: read back as this one word, unexpanded.
const BARE_WORD_REGEXP = /^[A-Za-z0-9_.:\/@%+~*^|?-]+$/;

/** Text in double quotes, escaping what the lexer unescapes, so it reads back unchanged. */
export function quoteString(text: string): string {
  return `"${text.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
}

/** A bare word when the lexer reads it back as that word, a quoted string otherwise. */
export function printWord(text: string): string {
  return BARE_WORD_REGEXP.test(text) ? text : quoteString(text);
}

/** Produces tokens on demand, so macros defined by earlier lines expand in later ones. */
export class Lexer {
  #text: string;
  #file: string;
  #pos = 0;
  #line = 1;
  #lineStart = 0;
  /** The end of the current line when it is over the limit, else -1. */
  #overlongEnd = -1;
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
    this.#measureLine();
  }

  /** The next token; `eof` forever at the end. */
  next(): Token {
    const text = this.#text;
    while (this.#pos < text.length) {
      if (this.#overlongEnd !== -1) this.#refuseLine();
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
    if (value.length > MAX_TOKEN_LENGTH) {
      this.#pos = text[i] === '"' ? i + 1 : i;
      throw new StatementError(
        `Quoted string too long: ${value.length} characters, the limit is ${MAX_TOKEN_LENGTH}`,
        position,
      );
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
    if (end - start > MAX_TOKEN_LENGTH) {
      throw new StatementError(
        `Word too long: ${end - start} characters, the limit is ${MAX_TOKEN_LENGTH}`,
        position,
      );
    }
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
    // A value from `-D` may hold a line end, which no statement can hold (nor print back).
    if (value.includes("\n")) {
      throw new StatementError(`Macro "$${name}" holds a line end`, position);
    }
    return { kind: "word", value, position };
  }

  #newLine(): void {
    this.#line++;
    this.#lineStart = this.#pos;
    this.#measureLine();
  }

  // Finds the end of the line just begun; one scan per line keeps the whole pass linear.
  #measureLine(): void {
    const found = this.#text.indexOf("\n", this.#pos);
    const end = found === -1 ? this.#text.length : found;
    this.#overlongEnd = end - this.#pos > MAX_LINE_LENGTH ? end : -1;
  }

  // Skips an over-long line unread (keeping a final `\` continuation) and abandons the
  // statement, naming the column where the line goes over the limit.
  #refuseLine(): void {
    const end = this.#overlongEnd;
    this.#overlongEnd = -1;
    const length = end - this.#lineStart;
    const position = {
      file: this.#file,
      line: this.#line,
      column: MAX_LINE_LENGTH + 1,
    };
    const text = this.#text;
    let resume = end;
    if (text[resume - 1] === "\r") resume--;
    if (text[resume - 1] === "\\") resume--;
    this.#pos = Math.max(resume, this.#pos);
    throw new StatementError(
      `Line too long: ${length} characters, the limit is ${MAX_LINE_LENGTH}`,
      position,
    );
  }

  #position(): SourcePosition {
    return { file: this.#file, line: this.#line, column: this.#pos - this.#lineStart + 1 };
  }
}
