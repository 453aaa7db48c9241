// RFC 5322 lexical state of an address list, one character at a time: quoted strings,
// (nested) comments and quoted pairs in both. Completing and folding addresses share it.

/** Tells which characters of an address list stand outside quotes, comments and escapes. */
export class AddressScanner {
  comment = 0;
  quoted = false;
  #escaped = false;

  /** Takes one character; true when it stands outside quotes, comments and escapes. */
  step(c: string): boolean {
    if (this.#escaped) {
      this.#escaped = false;
      return false;
    }
    if (c === "\\" && (this.quoted || this.comment > 0)) {
      this.#escaped = true;
      return false;
    }
    if (this.quoted) {
      if (c === '"') this.quoted = false;
      return false;
    }
    if (c === "(") {
      this.comment++;
      return false;
    }
    if (this.comment > 0) {
      if (c === ")") this.comment--;
      return false;
    }
    if (c === '"') {
      this.quoted = true;
      return false;
    }
    return true;
  }

  /** Whether every quote, comment and escape taken so far is closed. */
  get balanced(): boolean {
    return this.comment === 0 && !this.quoted && !this.#escaped;
  }
}
