// The message's data after the commands that start it: BDAT chunks (RFC 3030), and the
// end of the data, where what went wrong while reading is refused and the rest committed.

import { envelopeIds, errorMessage } from "../mail/mod.ts";
import { assembleMessage } from "./assemble_message.ts";
import { rewriteHeader } from "./header_rewrite.ts";
import { isParsableHeader } from "./header_syntax.ts";
import {
  endTransaction,
  failClosed,
  filterBdatData,
  filterContent,
  filterPhase,
  prependSpamHeader,
  report,
  reportRollback,
} from "./filtering.ts";
import { REPLIES, type Reply } from "./replies.ts";
import type { Session } from "./session.ts";
import type { SessionState } from "./states.ts";
import type { Transaction } from "./transaction.ts";

/** A BDAT chunk being read. */
export interface BdatChunk {
  /** Octets still to read. */
  remaining: number;
  readonly size: number;
  readonly last: boolean;
  /** A transaction with recipients takes the chunk; otherwise it is read and dropped. */
  readonly accepted: boolean;
  /** Why a chunk that is not accepted is refused, when a filter refused it. */
  readonly refusal?: Reply;
  readonly write: (bytes: Uint8Array) => void;
  /** The state to return to once the chunk is read. */
  readonly returnTo: SessionState;
}

/**
 * BDAT SIZE [LAST]: reads the chunk, then answers. The chunk follows the command at once
 * and is read whatever the answer (RFC 3030 §2), so a chunk outside a transaction with
 * recipients is refused only once it has been read. The first chunk of a message is asked
 * the filters' data phase first, as DATA is.
 */
export function runBdat(
  s: Session,
  chunk: { size: number; last: boolean },
): void | Promise<void> {
  const tx = s.transaction;
  if (tx === undefined || s.state !== "rcpt") return readChunk(s, chunk, undefined);
  if (tx.transfer !== "none" || !s.filters) return startChunks(s, tx, chunk);
  return filterBdatData(s).then((step) => {
    if (step.go) return startChunks(s, tx, chunk);
    if (!step.refusal) return; // The session is closing.
    // RFC 3030 §2: a refused chunk fails the transaction; later chunks find none.
    s.transaction = undefined;
    endTransaction(s, tx.msgid);
    s.enter("ready");
    readChunk(s, chunk, { refusal: step.refusal });
  });
}

// The message's chunks are taken: the first one opens its data (tx-data, as DATA does).
function startChunks(s: Session, tx: Transaction, chunk: { size: number; last: boolean }): void {
  if (tx.transfer === "none") report(s, "tx-data", () => [tx.msgid, "ok"]);
  tx.transfer = "bdat";
  readChunk(s, chunk, tx);
}

// Reads the chunk into the transaction, or reads and drops it (refused once read).
function readChunk(
  s: Session,
  chunk: { size: number; last: boolean },
  into: Transaction | { readonly refusal: Reply } | undefined,
): void {
  const tx = into && "write" in into ? into : undefined;
  const write = tx ? (bytes: Uint8Array) => tx.write(bytes) : () => {};
  const refusal = into && "refusal" in into ? { refusal: into.refusal } : {};
  s.chunk = {
    remaining: chunk.size,
    ...chunk,
    accepted: tx !== undefined,
    ...refusal,
    write,
    returnTo: s.state,
  };
  s.enter("bdat");
}

/** The chunk is read: refuse it, acknowledge it, or end the data with the last one. */
export async function endOfChunk(s: Session, chunk: BdatChunk): Promise<void> {
  s.chunk = undefined;
  // The last chunk of a transaction ends its data, which goes straight back to "ready".
  if (chunk.accepted && chunk.last) return await endOfData(s);
  s.enter(chunk.returnTo);
  if (chunk.refusal) return s.reply(chunk.refusal);
  if (!chunk.accepted) return s.protocolError(REPLIES.bdatRefused);
  s.reply({ code: 250, enhanced: "2.0.0", text: `${chunk.size} octets received` });
}

/**
 * The end of the data: refuse what went wrong while reading, else commit and answer. The
 * data held goes back to the budget once the message is committed or refused.
 */
export async function endOfData(s: Session): Promise<void> {
  const tx = s.takeTransaction();
  try {
    await commitData(s, tx);
  } finally {
    tx.releaseData();
  }
}

const REFUSALS: Readonly<Record<NonNullable<Transaction["problem"]>, Reply>> = {
  "too-big": REPLIES.tooBig,
  "line-too-long": REPLIES.textLineTooLong,
  "loop": REPLIES.loop,
  // RFC 3463 X.3.1: mail system full; the client may send it again later.
  "over-budget": REPLIES.dataBudgetFull,
};

// OpenSMTPD's reply to it (smtp_session.c, TX_ERROR_MALFORMED), word for word.
const HEADER_NOT_PARSABLE: Reply = {
  code: 550,
  enhanced: "5.7.1",
  text: "Delivery not authorized, message refused: Message is not RFC 2822 compliant",
};

async function commitData(s: Session, tx: Transaction): Promise<void> {
  s.enter("ready");
  tx.countHops();
  const problem = tx.problem;
  if (problem) {
    const refusal = REFUSALS[problem];
    if (problem === "over-budget") {
      s.context.log.info(
        `smtp-in: session ${s.id} message ${tx.msgid} not queued: the sessions hold all the message data they may (${tx.size} bytes read)`,
      );
    }
    reportRollback(s, tx.msgid);
    s.filters?.endTransaction();
    return s.reply(refusal);
  }
  const msgid = tx.msgid;
  await s.rdnsLookup;
  const ctx = s.context;
  const tls = s.tlsDescription;
  const date = new Date();
  const assembled = assembleMessage(tx, {
    facts: s.facts,
    hostname: ctx.hostname,
    msgid,
    date,
    esmtp: s.esmtp,
    ...(tls === undefined ? {} : { tls }),
    ...(ctx.auth?.inReceived ? { receivedAuth: true } : {}),
    ...(ctx.auth?.masquerade ? { masquerade: true } : {}),
    ...(ctx.maskSource ? { maskSource: true } : {}),
  });
  // The content is one copy now: the pieces it was built from can go.
  tx.dropChunks();
  // Each envelope's id is chosen here, so the log names what the queue holds.
  const evpids = envelopeIds(msgid, assembled.envelopes.length);
  const message = {
    ...assembled,
    envelopes: assembled.envelopes.map((e, n) => ({ ...e, evpid: evpids[n]! })),
  };
  s.flush();
  s.committing = tx;
  const rewrite = (bytes: Uint8Array) =>
    rewriteHeader(bytes, {
      hostname: ctx.hostname,
      ...(ctx.fillsMissingHeaders ? { addMissing: { msgid, date } } : {}),
    });
  // Filters that read the data get the header as it is queued (Bcc: gone, bare names
  // completed, a missing Date: added), so that a signer signs what goes out: rewritten
  // after it, a signed To: bob became To: bob@host and the signature broke.
  const toFilter = s.filters?.filtersData ? rewrite(message.content) : message.content;
  const filtered = await throughFilters(s, tx, toFilter, evpids).finally(() => {
    s.committing = undefined;
  });
  s.filters?.endTransaction();
  if (!filtered) return;
  // OpenSMTPD parses what its filters hand on, and refuses a header it cannot parse.
  if (!isParsableHeader(filtered)) {
    reportRollback(s, msgid);
    return s.reply(HEADER_NOT_PARSABLE);
  }
  // After the filters too, on what they hand on, as OpenSMTPD parses its filters' output
  // (nothing changes unless a filter wrote a bare name).
  const content = rewrite(filtered);
  try {
    await ctx.submit(content === message.content ? message : { ...message, content });
  } catch (error) {
    ctx.log.warn(`smtp-in: session ${s.id} message ${msgid} not queued: ${errorMessage(error)}`);
    reportRollback(s, msgid);
    return s.reply(REPLIES.queueFailure);
  }
  report(s, "tx-commit", () => [msgid, String(content.byteLength)]);
  report(s, "tx-reset", () => [msgid]);
  s.messageAccepted();
  // OpenSMTPD's lines for a committed message: the message, then each envelope.
  s.event("message", {
    msgid,
    size: content.byteLength,
    nrcpt: tx.recipients.length,
    proto: s.esmtp ? "ESMTP" : "SMTP",
  });
  for (const e of message.envelopes) {
    s.event("envelope", { evpid: e.evpid, from: `<${tx.sender}>`, to: `<${e.rcpt}>` });
  }
  s.reply({ code: 250, enhanced: "2.0.0", text: `${msgid} Message accepted for delivery` });
}

// The message through the data-line filters, then the commit phase; `X-Spam: yes` for
// junk. Undefined when the session has replied (a refusal, or a filter that failed).
async function throughFilters(
  s: Session,
  tx: Transaction,
  content: Uint8Array,
  evpids: readonly string[],
): Promise<Uint8Array | undefined> {
  const filters = s.filters;
  let out = content;
  if (filters) {
    // The ids the queue will hold, as OpenSMTPD reports them (smtpd-filters(7)).
    for (const evpid of evpids) report(s, "tx-envelope", () => [tx.msgid, evpid]);
    if (filters.filtersData) {
      try {
        out = await filterContent(filters, content);
      } catch (error) {
        reportRollback(s, tx.msgid);
        failClosed(s, "data-line", error);
        return undefined;
      }
    }
    const step = await filterPhase(s, "commit", []);
    if (!step.go) {
      reportRollback(s, tx.msgid);
      return undefined;
    }
  }
  return tx.junk || s.junk ? prependSpamHeader(out) : out;
}
