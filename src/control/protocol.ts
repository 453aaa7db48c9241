// The daemon's local socket protocol: each frame is one line of JSON (an object with a
// `kind`) ending in LF, then, when the object says `bodyBytes: N`, exactly N raw bytes (a
// message, byte for byte). One request per connection. New requests are new kinds: a
// daemon answers a kind it does not know with an `error` frame, never by guessing.

/** The protocol version the daemon's hello names. */
export const CONTROL_PROTOCOL_VERSION = 1;

/** The longest JSON line either side accepts (a submission's flags, a queue listing). */
export const MAX_HEADER_BYTES = 16 * 1024 * 1024;

/** One frame: its JSON header and, when it has one, its body. */
export interface Frame {
  readonly header: Record<string, unknown>;
  readonly body?: Uint8Array;
}

/** Writes a frame; a body's length goes into the header as `bodyBytes`. */
export async function writeFrame(
  conn: Deno.Conn,
  header: Record<string, unknown>,
  body?: Uint8Array,
): Promise<void> {
  const line = JSON.stringify(body === undefined ? header : { ...header, bodyBytes: body.length });
  const encoded = new TextEncoder().encode(`${line}\n`);
  await writeAll(conn, encoded);
  if (body !== undefined) await writeAll(conn, body);
}

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < data.length) offset += await conn.write(data.subarray(offset));
}

/** Reads frames from a connection, keeping what it read past the last one. */
export class FrameReader {
  #conn: Deno.Conn;
  #buffer = new Uint8Array(0);
  #maxBody: number;

  /** `maxBody`: the largest body accepted (a larger one is an error, read no further). */
  constructor(conn: Deno.Conn, maxBody: number) {
    this.#conn = conn;
    this.#maxBody = maxBody;
  }

  /** The next frame; throws when the peer closes early or sends what is not a frame. */
  async read(): Promise<Frame> {
    let newline = this.#buffer.indexOf(0x0a);
    while (newline === -1) {
      if (this.#buffer.length > MAX_HEADER_BYTES) throw new Error("the frame header is too long");
      await this.#fill("a frame header");
      newline = this.#buffer.indexOf(0x0a);
    }
    const text = new TextDecoder("utf-8", { fatal: true }).decode(
      this.#buffer.subarray(0, newline),
    );
    this.#buffer = this.#buffer.slice(newline + 1);
    const header: unknown = JSON.parse(text);
    if (typeof header !== "object" || header === null || Array.isArray(header)) {
      throw new Error("the frame header is not a JSON object");
    }
    const record = header as Record<string, unknown>;
    if (typeof record["kind"] !== "string") throw new Error("the frame has no kind");
    const size = record["bodyBytes"];
    if (size === undefined) return { header: record };
    if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) {
      throw new Error("the frame's bodyBytes is not a length");
    }
    if (size > this.#maxBody) {
      throw new Error(`the body is too large (${size} bytes, at most ${this.#maxBody})`);
    }
    // The body is read into its own buffer, so a large message is copied once.
    const body = new Uint8Array(size);
    let have = Math.min(size, this.#buffer.length);
    body.set(this.#buffer.subarray(0, have));
    this.#buffer = this.#buffer.slice(have);
    while (have < size) {
      const n = await this.#conn.read(body.subarray(have));
      if (n === null) throw new Error("the connection closed before the end of the frame body");
      have += n;
    }
    return { header: record, body };
  }

  async #fill(what: string): Promise<void> {
    const chunk = new Uint8Array(64 * 1024);
    const n = await this.#conn.read(chunk);
    if (n === null) throw new Error(`the connection closed before ${what}`);
    const next = new Uint8Array(this.#buffer.length + n);
    next.set(this.#buffer);
    next.set(chunk.subarray(0, n), this.#buffer.length);
    this.#buffer = next;
  }
}
