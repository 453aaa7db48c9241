// Turns smtpd.conf text into tokens: words, quoted strings and punctuation, each with
// its position. Reads characters as OpenSMTPD's parse.y lexer does (`\` continuation,
// single and double quotes) and expands `$macro` by reading its value as text.

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

// A run of plain word characters (a `\` is handled one at a time, as parse.y's lgetc does).
const WORD_RUN_REGEXP = /[^\s{}<>,=!"#\\]+/y;
const WORD_END_REGEXP = /[\s{}<>,=!"#]/;
// A macro name after `$`, as parse.y reads it: letters, digits and `_`.
const MACRO_NAME_REGEXP = /[A-Za-z0-9_]/;

// What may stand as a bare word in printed text: read back as this one word, unexpanded.
const BARE_WORD_REGEXP = /^[A-Za-z0-9_.:\/@%+~*^|?-]+$/;

/**
 * Text in double quotes that the lexer reads back unchanged: in a quoted string `\` escapes
 * only the quote, a space or a tab (parse.y), so only those escapes are written.
 */
export function quoteString(text: string): string {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    const next = text[i + 1];
    if (c === '"') out += '\\"';
    else if (c === "\\" && (next === " " || next === "\t" || next === undefined)) out += "\\\\";
    else out += c;
  }
  return `"${out}"`;
}

/** A bare word when the lexer reads it back as that word, a quoted string otherwise. */
export function printWord(text: string): string {
  return BARE_WORD_REGEXP.test(text) ? text : quoteString(text);
}

// A macro's value being read: its tokens take the position of the `$` that named it.
interface Expansion {
  readonly text: string;
  at: number;
  readonly position: SourcePosition;
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
  #expansion: Expansion | undefined;
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
    while (true) {
      if (this.#overlongEnd !== -1 && !this.#expansion) this.#refuseLine();
      this.#skipContinuations();
      const c = this.#raw(0);
      if (c === undefined) return { kind: "eof", value: "", position: this.#position() };
      if (c === " " || c === "\t" || c === "\r") {
        this.#consume(1);
        continue;
      }
      if (c === "\\") {
        // Outside quotes parse.y drops a `\` and reads the next character as it is.
        this.#consume(1);
        continue;
      }
      if (c === "#") {
        this.#comment();
        continue;
      }
      const position = this.#position();
      if (c === "\n") {
        this.#consume(1);
        return { kind: "newline", value: "\n", position };
      }
      // parse.y expands a macro where a token starts, but not inside another's value.
      if (c === "$" && !this.#expansion) {
        this.#expand(position);
        continue;
      }
      if (c === '"' || c === "'") return this.#string(c, position);
      if (c === "=" && this.#logical(1) === ">") {
        this.#consume(2);
        return { kind: "=", value: "=>", position };
      }
      if ("{},=<>!".includes(c)) {
        this.#consume(1);
        return { kind: c as TokenKind, value: c, position };
      }
      return this.#word(position);
    }
  }

  // A comment runs to the end of the line; a `\` at its end continues it, as in parse.y.
  #comment(): void {
    while (true) {
      this.#skipContinuations();
      const c = this.#raw(0);
      if (c === undefined || c === "\n") return;
      this.#consume(c === "\\" ? 2 : 1);
    }
  }

  // `$name`: the value is read as text in place of the name, so a value of several words
  // gives several tokens (smtpd.conf(5) MACROS; parse.y pushes the value back as input).
  #expand(position: SourcePosition): void {
    this.#consume(1);
    let name = "";
    while (true) {
      this.#skipContinuations();
      const c = this.#raw(0);
      if (c === undefined || !MACRO_NAME_REGEXP.test(c)) break;
      name += c;
      this.#consume(1);
    }
    const value = this.#macros.get(name);
    if (value === undefined) throw new StatementError(`Undefined macro "$${name}"`, position);
    // A value from `-D` may hold a line end, which no statement can hold (nor print back).
    if (value.includes("\n")) {
      throw new StatementError(`Macro "$${name}" holds a line end`, position);
    }
    if (value !== "") this.#expansion = { text: value, at: 0, position };
  }

  // A quoted string, single or double, read as parse.y does: `\` before the quote, a
  // space or a tab stands for that character, `\` before a line end continues the string,
  // any other `\` is kept; a line end inside the quotes is dropped.
  #string(quote: string, position: SourcePosition): Token {
    this.#consume(1);
    let value = "";
    while (true) {
      const c = this.#raw(0);
      if (c === undefined) {
        this.#diagnostics.push({ severity: "error", message: "Unterminated string", position });
        return { kind: "string", value, position };
      }
      if (c === quote) {
        this.#consume(1);
        break;
      }
      if (c === "\n") {
        this.#diagnostics.push({
          severity: "warning",
          message: "A line break inside a quoted string is dropped: end the line with \\ to " +
            "continue the string",
          position: this.#position(),
        });
        this.#consume(1);
        continue;
      }
      if (c === "\\") {
        const next = this.#raw(1);
        if (next === quote || next === " " || next === "\t") {
          value += next;
          this.#consume(2);
        } else if (next === "\n" || (next === "\r" && this.#raw(2) === "\n")) {
          this.#consume(next === "\n" ? 2 : 3);
        } else {
          value += c;
          this.#consume(1);
        }
      } else {
        value += c;
        this.#consume(1);
      }
      if (value.length > MAX_TOKEN_LENGTH) this.#tooLong(quote, value.length, position);
    }
    return { kind: "string", value, position };
  }

  // Skips the rest of an over-long string (to its quote or the end of its line) and refuses it.
  #tooLong(quote: string, length: number, position: SourcePosition): never {
    while (true) {
      const c = this.#raw(0);
      if (c === undefined || c === "\n") break;
      this.#consume(1);
      if (c === quote) break;
      length++;
    }
    throw new StatementError(
      `Quoted string too long: ${length} characters, the limit is ${MAX_TOKEN_LENGTH}`,
      position,
    );
  }

  #word(position: SourcePosition): Token {
    // The first character is the word's whatever it is (a space other than " ", "\t" and
    // "\r", say), so every word takes at least one.
    let value = this.#raw(0)!;
    this.#consume(1);
    while (true) {
      if (!this.#expansion) {
        // Fast path: a run of plain characters of the file itself.
        WORD_RUN_REGEXP.lastIndex = this.#pos;
        const run = WORD_RUN_REGEXP.exec(this.#text);
        if (run) {
          value += run[0];
          this.#consume(run[0].length);
          if (value.length > MAX_TOKEN_LENGTH) break;
        }
      }
      this.#skipContinuations();
      const c = this.#raw(0);
      if (c === undefined || WORD_END_REGEXP.test(c)) break;
      if (c === "\\") {
        // Outside quotes parse.y drops a `\` and takes the next character as it is.
        const next = this.#raw(1);
        if (next === undefined || WORD_END_REGEXP.test(next)) {
          this.#consume(1);
          continue;
        }
        value += next;
        this.#consume(2);
      } else {
        value += c;
        this.#consume(1);
      }
      if (value.length > MAX_TOKEN_LENGTH) break;
    }
    if (value.length > MAX_TOKEN_LENGTH) {
      let length = value.length;
      while (true) {
        const c = this.#raw(0);
        if (c === undefined || WORD_END_REGEXP.test(c)) break;
        this.#consume(1);
        length++;
      }
      throw new StatementError(
        `Word too long: ${length} characters, the limit is ${MAX_TOKEN_LENGTH}`,
        position,
      );
    }
    return { kind: "word", value, position };
  }

  // The character `offset` places ahead: the rest of a macro's value, then the file.
  #raw(offset: number): string | undefined {
    const e = this.#expansion;
    if (e) {
      const left = e.text.length - e.at;
      if (offset < left) return e.text[e.at + offset];
      offset -= left;
    }
    return this.#text[this.#pos + offset];
  }

  // The character `offset` places ahead with `\`-newline continuations skipped.
  #logical(offset: number): string | undefined {
    let i = offset;
    while (this.#raw(i) === "\\") {
      const next = this.#raw(i + 1);
      if (next === "\n") i += 2;
      else if (next === "\r" && this.#raw(i + 2) === "\n") i += 3;
      else break;
    }
    return this.#raw(i);
  }

  // Consumes `\` line continuations, which join lines outside quotes (smtpd.conf(5)).
  #skipContinuations(): void {
    while (this.#raw(0) === "\\") {
      const next = this.#raw(1);
      if (next === "\n") this.#consume(2);
      else if (next === "\r" && this.#raw(2) === "\n") this.#consume(3);
      else return;
    }
  }

  #consume(count: number): void {
    for (let n = 0; n < count; n++) {
      const e = this.#expansion;
      if (e) {
        e.at++;
        if (e.at >= e.text.length) this.#expansion = undefined;
        continue;
      }
      const c = this.#text[this.#pos];
      if (c === undefined) return;
      this.#pos++;
      if (c === "\n") this.#newLine();
    }
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
    if (this.#expansion) return this.#expansion.position;
    return { file: this.#file, line: this.#line, column: this.#pos - this.#lineStart + 1 };
  }
}
