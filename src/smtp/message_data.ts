// The message's data after the commands that start it: BDAT chunks (RFC 3030), and the
// end of the data, where what went wrong while reading is refused and the rest committed.

import { errorMessage } from "../mail/mod.ts";
import { assembleMessage } from "./assemble_message.ts";
import { randomHex } from "../mail/mod.ts";
import { REPLIES } from "./replies.ts";
import type { Session } from "./session.ts";
import type { SessionState } from "./states.ts";

/** A BDAT chunk being read. */
export interface BdatChunk {
  /** Octets still to read. */
  remaining: number;
  readonly size: number;
  readonly last: boolean;
  /** A transaction with recipients takes the chunk; otherwise it is read and dropped. */
  readonly accepted: boolean;
  readonly write: (bytes: Uint8Array) => void;
  /** The state to return to once the chunk is read. */
  readonly returnTo: SessionState;
}

/**
 * BDAT SIZE [LAST]: reads the chunk, then answers. The chunk follows the command at once
 * and is read whatever the answer (RFC 3030 §2), so a chunk outside a transaction with
 * recipients is refused only once it has been read.
 */
export function runBdat(s: Session, chunk: { size: number; last: boolean }): void {
  const tx = s.transaction;
  const accepted = tx !== undefined && s.state === "rcpt";
  if (accepted) tx.transfer = "bdat";
  const discard = () => {};
  const write = accepted ? (bytes: Uint8Array) => tx.write(bytes.slice()) : discard;
  s.chunk = { remaining: chunk.size, ...chunk, accepted, write, returnTo: s.state };
  s.enter("bdat");
}

/** The chunk is read: refuse it, acknowledge it, or end the data with the last one. */
export async function endOfChunk(s: Session, chunk: BdatChunk): Promise<void> {
  s.chunk = undefined;
  // The last chunk of a transaction ends its data, which goes straight back to "ready".
  if (chunk.accepted && chunk.last) return await endOfData(s);
  s.enter(chunk.returnTo);
  if (!chunk.accepted) return s.protocolError(REPLIES.bdatRefused);
  s.reply({ code: 250, enhanced: "2.0.0", text: `${chunk.size} octets received` });
}

/** The end of the data: refuse what went wrong while reading, else commit and answer. */
export async function endOfData(s: Session): Promise<void> {
  const tx = s.transaction!;
  s.transaction = undefined;
  s.enter("ready");
  tx.countHops();
  switch (tx.problem) {
    case "too-big":
      return s.reply(REPLIES.tooBig);
    case "line-too-long":
      return s.reply(REPLIES.textLineTooLong);
    case "loop":
      return s.reply(REPLIES.loop);
  }
  const msgid = randomHex(4);
  await s.rdnsLookup;
  const ctx = s.context;
  const tls = s.tlsDescription;
  const assembled = assembleMessage(tx, {
    facts: s.facts,
    hostname: ctx.hostname,
    msgid,
    date: new Date(),
    esmtp: s.esmtp,
    ...(tls === undefined ? {} : { tls }),
    ...(ctx.auth?.inReceived ? { receivedAuth: true } : {}),
    ...(ctx.auth?.masquerade ? { masquerade: true } : {}),
    ...(ctx.maskSource ? { maskSource: true } : {}),
  });
  // Each envelope's id is chosen here, so the log names what the queue holds.
  const message = {
    ...assembled,
    envelopes: assembled.envelopes.map((e) => ({ ...e, evpid: msgid + randomHex(4) })),
  };
  s.flush();
  try {
    await ctx.submit(message);
  } catch (error) {
    ctx.log.warn(`smtp-in: session ${s.id} message ${msgid} not queued: ${errorMessage(error)}`);
    return s.reply(REPLIES.queueFailure);
  }
  s.messageAccepted();
  // OpenSMTPD's lines for a committed message: the message, then each envelope.
  s.event("message", {
    msgid,
    size: message.content.byteLength,
    nrcpt: tx.recipients.length,
    proto: s.esmtp ? "ESMTP" : "SMTP",
  });
  for (const e of message.envelopes) {
    s.event("envelope", { evpid: e.evpid, from: `<${tx.sender}>`, to: `<${e.rcpt}>` });
  }
  s.reply({ code: 250, enhanced: "2.0.0", text: `${msgid} Message accepted for delivery` });
}
