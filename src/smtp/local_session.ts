// A locally submitted message (sendmail, the offline pickup) spoken into an SMTP session
// of its own, in memory, as OpenSMTPD's enqueuer speaks to its socket: so it meets the
// same rules and filters (every phase, data-line, the built-in DKIM signer) as mail that
// arrives by the network. The session decides and commits; this side only drives it.

import { runSmtpOnStreams, type SmtpListenerOptions } from "./server.ts";

/** What the session is given. */
export interface LocalSessionMessage {
  readonly sender: string;
  readonly recipients: readonly string[];
  /** The message, CRLF line ends; sent as one BDAT LAST chunk, so as it is. */
  readonly content: Uint8Array;
  /** ESMTP parameters of MAIL FROM (`RET=HDRS ENVID=…`) and of each RCPT TO (`NOTIFY=…`). */
  readonly mailParameters?: string;
  readonly rcptParameters?: string;
}

/** How it ended: the queue id, or the reply that refused it and the step it answered. */
export type LocalSessionOutcome =
  | { readonly ok: true; readonly msgid: string }
  | {
    readonly ok: false;
    readonly step: "connect" | "ehlo" | "mail" | "rcpt" | "data";
    readonly reply: string;
  };

/** Runs one message through a session with the given listener options. */
export async function submitInSession(
  options: Omit<SmtpListenerOptions, "address" | "port" | "tls" | "socketPath">,
  message: LocalSessionMessage,
): Promise<LocalSessionOutcome> {
  const input = new TransformStream<Uint8Array, Uint8Array>();
  const writer = input.writable.getWriter();
  const replies = new ReplyReader();
  const running = runSmtpOnStreams(options, input.readable, (data) => replies.push(data))
    .finally(() => replies.end());
  const encoder = new TextEncoder();
  // A session that ended stops reading: what is left unsent is answered by its end.
  const send = (bytes: Uint8Array | string) =>
    writer.write(typeof bytes === "string" ? encoder.encode(bytes) : bytes).catch(() => {});
  const refused = (step: Extract<LocalSessionOutcome, { ok: false }>["step"], reply: string) =>
    ({ ok: false, step, reply }) as const;
  try {
    let reply = await replies.next();
    if (!reply.startsWith("220")) return refused("connect", reply);
    await send("EHLO localhost\r\n");
    if (!(reply = await replies.next()).startsWith("250")) return refused("ehlo", reply);
    const mailParams = message.mailParameters ? ` ${message.mailParameters}` : "";
    await send(`MAIL FROM:<${message.sender}>${mailParams}\r\n`);
    if (!(reply = await replies.next()).startsWith("250")) return refused("mail", reply);
    const rcptParams = message.rcptParameters ? ` ${message.rcptParameters}` : "";
    // One refused recipient refuses the message, as a local submission always did.
    for (const rcpt of message.recipients) {
      await send(`RCPT TO:<${rcpt}>${rcptParams}\r\n`);
      if (!(reply = await replies.next()).startsWith("250")) {
        return refused("rcpt", `<${rcpt}>: ${reply}`);
      }
    }
    await send(`BDAT ${message.content.byteLength} LAST\r\n`);
    await send(message.content);
    reply = await replies.next();
    // "250 2.0.0 MSGID Message accepted for delivery"
    const msgid = /^250 \S+ ([0-9a-f]+) /.exec(reply)?.[1];
    return msgid ? { ok: true, msgid } : refused("data", reply);
  } finally {
    await send("QUIT\r\n");
    await writer.close().catch(() => {});
    await running;
  }
}

// The session's replies as they come: whole replies, their last line each.
class ReplyReader {
  #text = "";
  #ended = false;
  #wake: (() => void) | undefined;

  push(data: Uint8Array): void {
    this.#text += new TextDecoder().decode(data);
    this.#wake?.();
  }

  end(): void {
    this.#ended = true;
    this.#wake?.();
  }

  async next(): Promise<string> {
    while (true) {
      const match = /^(\d{3}) [^\r\n]*\r\n/m.exec(this.#text);
      if (match) {
        const end = match.index + match[0].length;
        const reply = match[0].slice(0, -2);
        this.#text = this.#text.slice(end);
        return reply;
      }
      // A session that ended without a reply has refused everything after.
      if (this.#ended) return "421 4.3.0 The session ended";
      await new Promise<void>((resolve) => this.#wake = resolve);
      this.#wake = undefined;
    }
  }
}
