// The parser's view of the tokens: peeking, expectations with good error messages, and
// `include` (a stack of lexers, one per file, with loops detected).

import { dirname, resolve } from "node:path";
import { type Diagnostic, StatementError } from "./errors.ts";
import { Lexer, type Token, type TokenKind } from "./lexer.ts";
import { suggest } from "./suggest.ts";
import { errorMessage } from "../mail/mod.ts";

export { StatementError };

/** Options of {@link TokenStream}. */
export interface StreamOptions {
  readonly file: string;
  readonly macros: Map<string, string>;
  readonly diagnostics: Diagnostic[];
  /** Reads an included file; absent means `include` is refused. */
  readonly readFile?: (path: string) => string;
  /** Receives the text of every file read, by name. */
  readonly sources: Map<string, string>;
}

/** Tokens from the main file and the files it includes. */
export class TokenStream {
  #lexers: { lexer: Lexer; file: string }[];
  #peeked: Token | undefined;
  #options: StreamOptions;

  constructor(text: string, options: StreamOptions) {
    this.#options = options;
    options.sources.set(options.file, text);
    this.#lexers = [{ lexer: this.#lexer(text, options.file), file: options.file }];
  }

  /** The file being read now. */
  get file(): string {
    return this.#lexers.at(-1)!.file;
  }

  peek(): Token {
    while (!this.#peeked) {
      const top = this.#lexers.at(-1)!;
      const token = top.lexer.next();
      if (token.kind === "eof" && this.#lexers.length > 1) {
        this.#lexers.pop();
        // The end of an included file ends its last statement.
        this.#peeked = { kind: "newline", value: "\n", position: token.position };
        break;
      }
      this.#peeked = token;
    }
    return this.#peeked;
  }

  next(): Token {
    const token = this.peek();
    this.#peeked = undefined;
    return token;
  }

  /** Starts reading an included file (relative to the including file), refusing loops. */
  include(path: Token): void {
    const readFile = this.#options.readFile;
    if (!readFile) throw new StatementError("include is not available here", path.position);
    const target = resolve(dirname(this.file), path.value);
    if (this.#lexers.some((l) => l.file === target)) {
      throw new StatementError(`Include loop: "${target}" is already being read`, path.position);
    }
    let text: string;
    try {
      text = readFile(target);
    } catch (error) {
      const why = errorMessage(error);
      throw new StatementError(`Cannot include "${target}": ${why}`, path.position);
    }
    this.#options.sources.set(target, text);
    this.#lexers.push({ lexer: this.#lexer(text, target), file: target });
  }

  atEnd(): boolean {
    const kind = this.peek().kind;
    return kind === "newline" || kind === "eof";
  }

  peekWord(...values: string[]): boolean {
    const token = this.peek();
    return token.kind === "word" && values.includes(token.value);
  }

  /** Takes the word when it is next; tells whether it was. */
  accept(value: string): boolean {
    if (!this.peekWord(value)) return false;
    this.next();
    return true;
  }

  expect(kind: TokenKind): Token {
    const token = this.next();
    if (token.kind !== kind) throw this.unexpected(token, `"${kind}"`);
    return token;
  }

  expectWord(what: string): Token {
    const token = this.next();
    if (token.kind !== "word") throw this.unexpected(token, what);
    return token;
  }

  expectKeyword(word: string): Token {
    const token = this.next();
    if (token.kind !== "word" || token.value !== word) throw this.unexpected(token, `"${word}"`);
    return token;
  }

  /** A word or a quoted string. */
  value(what: string): Token {
    const token = this.next();
    if (token.kind !== "word" && token.kind !== "string") throw this.unexpected(token, what);
    return token;
  }

  skipNewlines(): void {
    while (this.peek().kind === "newline") this.next();
  }

  endOfStatement(): void {
    const token = this.peek();
    if (token.kind === "newline" || token.kind === "eof") return;
    throw this.unexpected(token, "the end of the line");
  }

  /** Skips to the end of the current line (and of any braces opened on it). */
  skipLine(): void {
    let depth = 0;
    while (true) {
      const token = this.next();
      if (token.kind === "eof") return;
      if (token.kind === "{") depth++;
      if (token.kind === "}") depth--;
      if (token.kind === "newline" && depth <= 0) return;
    }
  }

  /** Reports a warning at a token: the statement is taken as written. */
  warn(message: string, at: Token): void {
    this.#options.diagnostics.push({ severity: "warning", message, position: at.position });
  }

  unexpected(token: Token, expected: string): StatementError {
    const found = token.kind === "newline"
      ? "the end of the line"
      : token.kind === "eof"
      ? "the end of the file"
      : shown(token.value);
    return new StatementError(`Expected ${expected}, found ${found}`, token.position);
  }

  unknown(token: Token, known: readonly string[], what = "keyword"): StatementError {
    const near = suggest(token.value, known);
    const hint = near ? `: did you mean "${near}"?` : "";
    return new StatementError(`Unknown ${what} ${shown(token.value)}${hint}`, token.position);
  }

  #lexer(text: string, file: string): Lexer {
    return new Lexer(text, {
      file,
      macros: this.#options.macros,
      diagnostics: this.#options.diagnostics,
    });
  }
}

// A token as quoted in a message: long ones cut, with their length, to keep errors readable.
const SHOWN_LENGTH = 60;
function shown(value: string): string {
  if (value.length <= SHOWN_LENGTH) return `"${value}"`;
  return `"${value.slice(0, SHOWN_LENGTH)}…" (${value.length} characters)`;
}
