// The fuzz client's view of what the daemon says: it reads the socket to the end, checks
// every reply line as it arrives (RFC 5321 §4.2: a three-digit code, then space or hyphen;
// §4.5.3.1.5: at most 512 octets with the CRLF) and counts the replies.

const CRLF = "\r\n";
const REPLY_LINE_MAX = 512;
const ACCEPTED_REGEXP = /^250 2\.0\.0 ([0-9a-f]+) Message accepted for delivery$/;
const LINE_REGEXP = /^[2-5]\d\d[ -]/;

/** Everything the daemon sent on one connection, checked line by line. */
export class ReplyStream {
  /** Replies completed so far (their last line seen). */
  finals = 0;
  /** The code of the last complete reply. */
  lastCode = 0;
  /** Message ids of the messages the daemon accepted (250 to the end of the data). */
  readonly accepted: string[] = [];
  /** Malformed lines, described. */
  readonly problems: string[] = [];
  /** Resolves once the connection has ended (EOF, reset or our own close). */
  readonly ended: Promise<void>;
  #pending = "";
  #continuing: string | undefined;
  #waiters: (() => void)[] = [];
  #eof = false;
  #reset = false;

  constructor(conn: Deno.Conn) {
    this.ended = this.#pump(conn);
  }

  /** True once the daemon closed the connection. */
  get eof(): boolean {
    return this.#eof;
  }

  /** True when the connection ended in an error (a reset) rather than a clean close. */
  get reset(): boolean {
    return this.#reset;
  }

  /** Bytes after the last CRLF: must be none once the daemon closed cleanly. */
  get unterminated(): string {
    return this.#pending;
  }

  /** Waits until `count` replies are complete or the connection ended; false on timeout. */
  async waitFor(count: number, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.finals < count && !this.#eof) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
    }
    return this.finals >= count;
  }

  async #pump(conn: Deno.Conn): Promise<void> {
    // latin1 keeps one character per octet, so lengths are octet counts.
    const decoder = new TextDecoder("latin1");
    const buffer = new Uint8Array(16_384);
    try {
      while (true) {
        const n = await conn.read(buffer);
        if (n === null) break;
        this.#take(decoder.decode(buffer.subarray(0, n)));
      }
    } catch {
      // A reset, or our own close: the end of the stream either way.
      this.#reset = true;
    }
    this.#eof = true;
    this.#wake();
  }

  #take(text: string): void {
    this.#pending += text;
    let eol: number;
    while ((eol = this.#pending.indexOf(CRLF)) !== -1) {
      this.#check(this.#pending.slice(0, eol));
      this.#pending = this.#pending.slice(eol + 2);
    }
    if (this.#pending.length > REPLY_LINE_MAX) {
      this.problems.push(`a reply line of more than ${REPLY_LINE_MAX} octets without CRLF`);
      this.#pending = "";
    }
    this.#wake();
  }

  #check(line: string): void {
    const shown = JSON.stringify(line.slice(0, 80));
    if (!LINE_REGEXP.test(line)) this.problems.push(`malformed reply line ${shown}`);
    if (line.length + 2 > REPLY_LINE_MAX) {
      this.problems.push(`reply line of ${line.length + 2} octets: ${shown}`);
    }
    // §4.2: reply text is printable US-ASCII, space and tab.
    if (/[^\t\x20-\x7e]/.test(line)) this.problems.push(`a control or 8-bit octet in ${shown}`);
    const code = line.slice(0, 3);
    if (this.#continuing !== undefined && code !== this.#continuing) {
      this.problems.push(`reply continued with another code: ${shown}`);
    }
    if (line[3] === "-") {
      this.#continuing = code;
      return;
    }
    this.#continuing = undefined;
    this.finals++;
    this.lastCode = Number(code);
    const accepted = ACCEPTED_REGEXP.exec(line);
    if (accepted) this.accepted.push(accepted[1]!);
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }
}
