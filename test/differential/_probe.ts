// Asks a running server the questions of one case, the same way for OpenSMTPD and for this
// daemon: a session per probe from its client address (node:net binds the local end), the
// reply to the greeting, to each MAIL FROM and to each RCPT TO, RSET between transactions.

import { connect, type Socket } from "node:net";
import type { Case, Probe } from "./_cases.ts";

/** The reply codes one session got: "closed" where the server hung up instead. */
export interface ProbeResult {
  readonly src: string;
  readonly greeting: string;
  readonly greet: string;
  readonly transactions: readonly {
    readonly from: string;
    readonly mail: string;
    /** Recipient → reply code ("-" when MAIL was refused and RCPT not asked). */
    readonly rcpt: Readonly<Record<string, string>>;
  }[];
}

/** What a whole case got, as recorded in `recorded/NAME.json`. */
export interface CaseRecord {
  readonly case: string;
  readonly server: string;
  readonly results: readonly ProbeResult[];
}

/** Runs every probe of a case against 127.0.0.1:port. */
export async function probeCase(c: Case, port: number): Promise<ProbeResult[]> {
  const results: ProbeResult[] = [];
  for (const probe of c.probes) results.push(await runProbe(probe, port));
  return results;
}

async function runProbe(probe: Probe, port: number): Promise<ProbeResult> {
  const conversation = await Conversation.open(probe.src, port);
  try {
    await conversation.reply();
    const greet = await conversation.ask(probe.greeting);
    const transactions = [];
    for (const t of probe.transactions) {
      const mail = await conversation.ask(`MAIL FROM:${t.from}`);
      const rcpt: Record<string, string> = {};
      for (const to of t.to) {
        rcpt[to] = mail.startsWith("2") ? await conversation.ask(`RCPT TO:<${to}>`) : "-";
      }
      transactions.push({ from: t.from, mail, rcpt });
      await conversation.ask("RSET");
    }
    await conversation.ask("QUIT");
    return { src: probe.src, greeting: probe.greeting, greet, transactions };
  } finally {
    conversation.close();
  }
}

// One connection: lines out, reply codes in (the code of a multi-line reply's last line).
class Conversation {
  #socket: Socket;
  #buffered = "";
  #closed = false;
  #waiting: (() => void) | undefined;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => {
      this.#buffered += chunk;
      this.#waiting?.();
    });
    socket.on("close", () => {
      this.#closed = true;
      this.#waiting?.();
    });
    socket.on("error", () => {});
  }

  static open(src: string, port: number): Promise<Conversation> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: "127.0.0.1", port, localAddress: src }, () => {
        socket.off("error", reject);
        resolve(new Conversation(socket));
      });
      socket.once("error", reject);
    });
  }

  /** Sends a line and returns the code of the reply, or "closed". */
  ask(line: string): Promise<string> {
    if (this.#closed) return Promise.resolve("closed");
    this.#socket.write(`${line}\r\n`);
    return this.reply();
  }

  async reply(): Promise<string> {
    while (true) {
      const last = /^(\d{3}) [^\n]*\n/m.exec(this.#buffered);
      if (last) {
        this.#buffered = this.#buffered.slice(last.index + last[0].length);
        return last[1]!;
      }
      if (this.#closed) return "closed";
      await new Promise<void>((resolve) => this.#waiting = resolve);
      this.#waiting = undefined;
    }
  }

  close(): void {
    this.#socket.destroy();
  }
}
