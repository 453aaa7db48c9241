// What one mailbox write is, as plain data: the daemon does it itself, or — running as
// root — hands it to a child process running as the mailbox's owner. Also the framing of
// those requests on the child's pipes: a JSON header line, then the message bytes.

import { deliverToMaildir, isAlreadyDelivered } from "./maildir.ts";
import { deliverToMbox } from "./mbox.ts";

/** One write into a mailbox. */
export type MailboxRequest =
  | {
    readonly kind: "maildir";
    readonly dir: string;
    readonly returnPath: string;
    readonly deliveredTo: string;
    readonly evpid: string;
    /** Look for the envelope in the Maildir first (it may be there from before a crash). */
    readonly recovered: boolean;
  }
  | {
    readonly kind: "mbox";
    readonly path: string;
    readonly sender: string;
    readonly deliveredTo?: string;
  };

/** Performs a request in this process. */
export async function performMailboxRequest(
  request: MailboxRequest,
  content: Uint8Array,
): Promise<void> {
  if (request.kind === "maildir") {
    if (request.recovered && await isAlreadyDelivered(request.dir, request.evpid)) return;
    await deliverToMaildir(request.dir, content, {
      returnPath: request.returnPath,
      deliveredTo: request.deliveredTo,
      evpid: request.evpid,
    });
    return;
  }
  await deliverToMbox(request.path, content, {
    sender: request.sender,
    ...(request.deliveredTo === undefined ? {} : { deliveredTo: request.deliveredTo }),
  });
}

/** A request on the wire: its id, the request, and how many content bytes follow. */
export interface RequestHeader {
  readonly id: number;
  readonly request: MailboxRequest;
  readonly length: number;
}

/** The answer to a request. */
export interface ResponseLine {
  readonly id: number;
  readonly error?: string;
}

/** Encodes a request frame. */
export function encodeRequest(
  id: number,
  request: MailboxRequest,
  content: Uint8Array,
): Uint8Array {
  const head = new TextEncoder().encode(
    JSON.stringify({ id, request, length: content.byteLength } satisfies RequestHeader) + "\n",
  );
  const frame = new Uint8Array(head.byteLength + content.byteLength);
  frame.set(head);
  frame.set(content, head.byteLength);
  return frame;
}

/** Reads request frames from a stream (the child's standard input). */
export async function* readRequests(
  stream: ReadableStream<Uint8Array>,
): AsyncGenerator<{ header: RequestHeader; content: Uint8Array }> {
  let buffer = new Uint8Array(0);
  const reader = stream.getReader();
  const more = async (): Promise<boolean> => {
    const { value, done } = await reader.read();
    if (done) return false;
    const joined = new Uint8Array(buffer.byteLength + value.byteLength);
    joined.set(buffer);
    joined.set(value, buffer.byteLength);
    buffer = joined;
    return true;
  };
  while (true) {
    let newline = buffer.indexOf(10);
    while (newline === -1) {
      if (!(await more())) return;
      newline = buffer.indexOf(10);
    }
    const header = JSON.parse(
      new TextDecoder().decode(buffer.subarray(0, newline)),
    ) as RequestHeader;
    const end = newline + 1 + header.length;
    while (buffer.byteLength < end) {
      if (!(await more())) return;
    }
    const content = buffer.slice(newline + 1, end);
    buffer = buffer.slice(end);
    yield { header, content };
  }
}
