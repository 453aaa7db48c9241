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
    /** A Maildir++ folder (`.tag` for `user+tag`) used instead when the user made it. */
    readonly folder?: string;
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
    const dir = request.folder === undefined ? request.dir : await folderOr(request);
    if (request.recovered && await isAlreadyDelivered(dir, request.evpid)) return;
    await deliverToMaildir(dir, content, {
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

/** A folder name a sub-address may select: no path, no leading dot. */
export const MAILDIR_FOLDER_REGEXP = /^[\w-][\w.-]*$/;

// The folder when it exists, else the inbox.
async function folderOr(request: { dir: string; folder?: string }): Promise<string> {
  const folder = `${request.dir}/.${request.folder}`;
  if (!MAILDIR_FOLDER_REGEXP.test(request.folder ?? "")) return request.dir;
  try {
    return (await Deno.stat(folder)).isDirectory ? folder : request.dir;
  } catch {
    return request.dir; // No such folder: the inbox.
  }
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

/** The header line of a request frame; the content bytes follow it as they are. */
export function encodeRequestHeader(
  id: number,
  request: MailboxRequest,
  content: Uint8Array,
): Uint8Array {
  return new TextEncoder().encode(
    JSON.stringify({ id, request, length: content.byteLength } satisfies RequestHeader) + "\n",
  );
}

/** Reads request frames from a stream (the child's standard input). */
export async function* readRequests(
  stream: ReadableStream<Uint8Array>,
): AsyncGenerator<{ header: RequestHeader; content: Uint8Array }> {
  // Unread input is buffer[start..end]; frames are cut without copying what follows.
  let buffer = new Uint8Array(65536);
  let start = 0;
  let end = 0;
  const reader = stream.getReader();
  const more = async (): Promise<boolean> => {
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
    return true;
  };
  const decoder = new TextDecoder();
  while (true) {
    // Offsets are relative to `start`: reading more may move the unread bytes.
    let newline = buffer.subarray(start, end).indexOf(10);
    while (newline === -1) {
      if (!(await more())) return;
      newline = buffer.subarray(start, end).indexOf(10);
    }
    const header = JSON.parse(
      decoder.decode(buffer.subarray(start, start + newline)),
    ) as RequestHeader;
    const needed = newline + 1 + header.length;
    while (end - start < needed) {
      if (!(await more())) return;
    }
    const content = buffer.slice(start + newline + 1, start + needed);
    start += needed;
    if (start === end) start = end = 0;
    yield { header, content };
  }
}
