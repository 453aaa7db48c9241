// A small LMTP server (RFC 2033) for delivery tests: it records every transaction and
// answers each recipient by its local part: `perm…` gets 550 at RCPT, `late…` gets 554
// after DATA, `temp…` gets 452 after DATA, everyone else 250.

/** One transaction as the server saw it. */
export interface LmtpTransaction {
  readonly from: string;
  readonly rcpts: string[];
  /** The message, dot-unstuffed, CRLF line ends. */
  data: string;
}

/** A running server. */
export interface LmtpServer {
  readonly port: number;
  readonly transactions: LmtpTransaction[];
  stop(): Promise<void>;
}

/** Starts the server on 127.0.0.1 and a free port. */
export function startLmtpServer(): LmtpServer {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const transactions: LmtpTransaction[] = [];
  const conns = new Set<Deno.Conn>();
  const handlers: Promise<void>[] = [];
  const accepting = (async () => {
    try {
      for await (const conn of listener) {
        conns.add(conn);
        handlers.push(
          serve(conn, transactions).catch(() => {}).finally(() => {
            conns.delete(conn);
            try {
              conn.close();
            } catch {
              // Closed already.
            }
          }),
        );
      }
    } catch {
      // The listener was closed.
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    transactions,
    async stop() {
      listener.close();
      await accepting;
      for (const conn of conns) {
        try {
          conn.close();
        } catch {
          // Closed already.
        }
      }
      await Promise.all(handlers);
    },
  };
}

async function serve(conn: Deno.Conn, transactions: LmtpTransaction[]): Promise<void> {
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  const send = (text: string) => conn.write(encoder.encode(text));
  let pending = "";
  const buffer = new Uint8Array(65536);
  const line = async (): Promise<string | undefined> => {
    while (!pending.includes("\r\n")) {
      const n = await conn.read(buffer);
      if (n === null) return undefined;
      pending += decoder.decode(buffer.subarray(0, n));
    }
    const end = pending.indexOf("\r\n");
    const text = pending.slice(0, end);
    pending = pending.slice(end + 2);
    return text;
  };
  await send("220 lmtp.test LMTP ready\r\n");
  let tx: LmtpTransaction | undefined;
  while (true) {
    const command = await line();
    if (command === undefined) return;
    const verb = command.slice(0, 4).toUpperCase();
    if (verb === "LHLO") await send("250-lmtp.test\r\n250 PIPELINING\r\n");
    else if (verb === "MAIL") {
      tx = { from: /<(.*)>/.exec(command)?.[1] ?? "", rcpts: [], data: "" };
      await send("250 2.1.0 ok\r\n");
    } else if (verb === "RCPT") {
      const rcpt = /<(.*)>/.exec(command)?.[1] ?? "";
      if (rcpt.startsWith("perm")) await send("550 5.1.1 no such user here\r\n");
      else {
        tx?.rcpts.push(rcpt);
        await send("250 2.1.5 ok\r\n");
      }
    } else if (verb === "DATA") {
      await send("354 go ahead\r\n");
      const lines: string[] = [];
      while (true) {
        const l = await line();
        if (l === undefined) return;
        if (l === ".") break;
        lines.push(l.startsWith(".") ? l.slice(1) : l);
      }
      if (tx) {
        tx.data = lines.join("\r\n") + "\r\n";
        transactions.push(tx);
        for (const rcpt of tx.rcpts) {
          if (rcpt.startsWith("late")) await send("554 5.6.0 rejected after data\r\n");
          else if (rcpt.startsWith("temp")) await send("452 4.2.2 mailbox full\r\n");
          else await send("250 2.0.0 delivered\r\n");
        }
      }
    } else if (verb === "QUIT") {
      await send("221 bye\r\n");
      return;
    } else await send("250 ok\r\n");
  }
}
