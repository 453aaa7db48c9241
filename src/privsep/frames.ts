// Framing of the messages between the privileged parent and the SMTP front, on the
// channel between them (src/mail/child_channel.ts): an 8-byte prefix (header length, body length, both
// 32-bit big-endian), a JSON header, then the body bytes as they are (a message, 8-bit
// safe, never re-encoded).

import { StreamBuffer, writeBatched } from "../mail/mod.ts";

/** One frame: a typed header and an optional binary body. */
export interface Frame {
  readonly header: unknown;
  readonly body: Uint8Array;
}

/** The largest header a peer may send (a request never needs more). */
export const MAX_HEADER_BYTES = 1 << 20;
/** The largest body a peer may send: a message well over any `max-message-size`. */
export const MAX_BODY_BYTES = 1 << 30;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const EMPTY = new Uint8Array(0);

/**
 * Writes one frame. The frames written to one writer in the same task go out in one write,
 * in the order they were written, so frames written concurrently never interleave.
 */
export function writeFrame(
  writer: WritableStreamDefaultWriter<Uint8Array>,
  header: unknown,
  body: Uint8Array = EMPTY,
): Promise<void> {
  const json = encoder.encode(JSON.stringify(header));
  const head = new Uint8Array(8 + json.byteLength);
  const view = new DataView(head.buffer);
  view.setUint32(0, json.byteLength);
  view.setUint32(4, body.byteLength);
  head.set(json, 8);
  return writeBatched(writer, head, body);
}

/**
 * Reads frames until the stream ends. A frame over the limits, or a header that is not
 * JSON, throws: the peer is not speaking this protocol and the channel is closed.
 */
export async function* readFrames(stream: ReadableStream<Uint8Array>): AsyncGenerator<Frame> {
  const input = new StreamBuffer(stream);
  try {
    while (await input.fill(8)) {
      const head = input.unread();
      const view = new DataView(head.buffer, head.byteOffset, 8);
      const headerBytes = view.getUint32(0);
      const bodyBytes = view.getUint32(4);
      if (headerBytes > MAX_HEADER_BYTES || bodyBytes > MAX_BODY_BYTES) {
        throw new Error(`Frame too large: ${headerBytes} header and ${bodyBytes} body bytes`);
      }
      if (!(await input.fill(8 + headerBytes + bodyBytes))) throw new Error("Frame cut short");
      input.skip(8);
      const header: unknown = JSON.parse(decoder.decode(input.unread().subarray(0, headerBytes)));
      input.skip(headerBytes);
      const body = input.take(bodyBytes);
      yield { header, body };
    }
    if (input.length !== 0) throw new Error("Frame cut short");
  } finally {
    input.release();
  }
}
