// What one mailbox write is, as plain data: the daemon does it itself, or — running as
// root — hands it to a child process running as the mailbox's owner. Also the framing of
// those requests on the child's pipes: a JSON header line (one or more writes of the same
// message), then the message bytes once.

import { errorMessage, StreamBuffer } from "../mail/mod.ts";
import { deliverToMaildir, isAlreadyDelivered, type MaildirWriteOptions } from "./maildir.ts";
import { type HomeMaildir, missingHomeRefusal } from "./maildir_home.ts";
import { deliverToMbox } from "./mbox.ts";
import { RefusedRequest } from "./refused_request.ts";

/** One write into a mailbox. */
export type MailboxRequest =
  | {
    readonly kind: "maildir";
    readonly dir: string;
    /** A Maildir++ folder (`.tag` for `user+tag`) used instead when the user made it. */
    readonly folder?: string;
    /**
     * The home a relative path put `dir` under: a missing one refuses the write for good
     * (the sender of the request may not have been able to look).
     */
    readonly home?: HomeMaildir;
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
    /** A `/file` target, not a mailbox (MboxDelivery.namedFile). */
    readonly namedFile?: boolean;
  };

/** Performs a request in this process; rejects with a RefusedRequest when it never can. */
export async function performMailboxRequest(
  request: MailboxRequest,
  content: Uint8Array,
  options: MaildirWriteOptions = {},
): Promise<void> {
  if (request.kind === "maildir") {
    // Before the Maildir is made: making it would fail on permissions (a retry), or
    // make the home itself where the user may create it.
    const refusal = request.home && await missingHomeRefusal(request.home);
    if (refusal) throw new RefusedRequest(refusal);
    const dir = request.folder === undefined ? request.dir : await folderOr(request);
    if (request.recovered && await isAlreadyDelivered(dir, request.evpid)) return;
    await deliverToMaildir(dir, content, {
      returnPath: request.returnPath,
      deliveredTo: request.deliveredTo,
      evpid: request.evpid,
    }, options);
    return;
  }
  await deliverToMbox(request.path, content, {
    sender: request.sender,
    ...(request.deliveredTo === undefined ? {} : { deliveredTo: request.deliveredTo }),
    ...(request.namedFile === true ? { namedFile: true } : {}),
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

/** How one write of a batch went: `error` says what went wrong, absent when it was written. */
export interface MailboxWriteResult {
  readonly error?: string;
  /** The write failed a check: the same write would be refused again. */
  readonly permanent?: boolean;
}

/**
 * Performs the writes of one message at once, each into its own mailbox; one failing
 * write fails only its own result. Each file is synced before its result is given.
 */
export function performMailboxRequests(
  requests: readonly MailboxRequest[],
  content: Uint8Array,
  options: MaildirWriteOptions = {},
): Promise<MailboxWriteResult[]> {
  return Promise.all(
    requests.map((request) =>
      performMailboxRequest(request, content, options).then(
        (): MailboxWriteResult => ({}),
        (error): MailboxWriteResult =>
          error instanceof RefusedRequest
            ? { error: errorMessage(error), permanent: true }
            : { error: errorMessage(error) },
      )
    ),
  );
}

/** A request on the wire: its id, the writes, and how many content bytes follow. */
export interface RequestHeader {
  readonly id: number;
  /** The writes of one message, all of the same content. */
  readonly requests: readonly MailboxRequest[];
  readonly length: number;
}

/** The answer to a request: one result per write, in the order of its writes. */
export interface ResponseLine {
  readonly id: number;
  readonly results: readonly MailboxWriteResult[];
}

/** The header line of a request frame; the content bytes follow it as they are. */
export function encodeRequestHeader(
  id: number,
  requests: readonly MailboxRequest[],
  content: Uint8Array,
): Uint8Array {
  return new TextEncoder().encode(
    JSON.stringify({ id, requests, length: content.byteLength } satisfies RequestHeader) + "\n",
  );
}

/** The longest header line a request may have (1,000 writes take well under it). */
const MAX_HEADER_BYTES = 1 << 20;

/** Reads request frames from a stream (the child's standard input). */
export async function* readRequests(
  stream: ReadableStream<Uint8Array>,
): AsyncGenerator<{ header: RequestHeader; content: Uint8Array }> {
  const input = new StreamBuffer(stream);
  const decoder = new TextDecoder();
  while (true) {
    // Offsets are relative to the unread bytes: reading more may move them.
    let newline = input.unread().indexOf(10);
    while (newline === -1) {
      if (input.unread().byteLength > MAX_HEADER_BYTES) {
        throw new Error(`a mailbox request header over ${MAX_HEADER_BYTES} bytes`);
      }
      if (!(await input.more())) return;
      newline = input.unread().indexOf(10);
    }
    const header = JSON.parse(
      decoder.decode(input.unread().subarray(0, newline)),
    ) as RequestHeader;
    if (
      typeof header?.id !== "number" || !Number.isSafeInteger(header.length) || header.length < 0
    ) {
      throw new Error("a mailbox request without an id or a length");
    }
    if (!(await input.fill(newline + 1 + header.length))) return;
    input.skip(newline + 1);
    const content = input.take(header.length);
    yield { header, content };
  }
}

/** Set for a writer that serves the SMTP front: it writes Maildirs only (an mbox or a
 * `/file` goes through the daemon, which checks which one the user's writer may append to). */
export const MAILDIR_ONLY_VARIABLE = "SMTPD_WRITER_MAILDIR_ONLY";
