// Framing of the messages between the privileged parent and the SMTP front, on the
// front's standard input and output: an 8-byte prefix (header length, body length, both
// 32-bit big-endian), a JSON header, then the body bytes as they are (a message, 8-bit
// safe, never re-encoded).

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
 * Writes one frame. The prefix with the header and the body are queued on the writer in
 * one synchronous step, so frames written concurrently never interleave.
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
  const wrote = writer.write(head);
  return body.byteLength === 0 ? wrote : Promise.all([wrote, writer.write(body)]).then(() => {});
}

/**
 * Reads frames until the stream ends. A frame over the limits, or a header that is not
 * JSON, throws: the peer is not speaking this protocol and the channel is closed.
 */
export async function* readFrames(stream: ReadableStream<Uint8Array>): AsyncGenerator<Frame> {
  const reader = stream.getReader();
  let buffer = new Uint8Array(65536);
  let start = 0;
  let end = 0;
  const fill = async (needed: number): Promise<boolean> => {
    while (end - start < needed) {
      const { value, done } = await reader.read();
      if (done) return false;
      if (end + value.byteLength > buffer.byteLength) {
        const size = Math.max(buffer.byteLength, (end - start + value.byteLength) * 2);
        const grown = size > buffer.byteLength ? new Uint8Array(size) : buffer;
        grown.set(buffer.subarray(start, end));
        end -= start;
        start = 0;
        buffer = grown;
      }
      buffer.set(value, end);
      end += value.byteLength;
    }
    return true;
  };
  try {
    while (await fill(8)) {
      const view = new DataView(buffer.buffer, buffer.byteOffset + start, 8);
      const headerBytes = view.getUint32(0);
      const bodyBytes = view.getUint32(4);
      if (headerBytes > MAX_HEADER_BYTES || bodyBytes > MAX_BODY_BYTES) {
        throw new Error(`Frame too large: ${headerBytes} header and ${bodyBytes} body bytes`);
      }
      if (!(await fill(8 + headerBytes + bodyBytes))) throw new Error("Frame cut short");
      const header: unknown = JSON.parse(
        decoder.decode(buffer.subarray(start + 8, start + 8 + headerBytes)),
      );
      const bodyStart = start + 8 + headerBytes;
      const body = buffer.slice(bodyStart, bodyStart + bodyBytes);
      start = bodyStart + bodyBytes;
      if (start === end) start = end = 0;
      yield { header, body };
    }
    if (end !== start) throw new Error("Frame cut short");
  } finally {
    reader.releaseLock();
  }
}
