// A receiving SMTP server of the tests' own that counts what arrives: connections, how many
// are open at once, transactions per connection, and each message's arrival on a clock the
// test chooses. It can hold its reply to DATA until enough sessions are open together (or a
// bound passes), and answer MAIL FROM with a reply the test scripts.

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Options of {@link startCountingSink}. */
export interface SinkOptions {
  /** The clock arrivals are stamped with (default Date.now). */
  readonly now?: () => number;
  /** Hold each DATA reply until this many sessions are open at once, or `holdMs` passes. */
  readonly holdUntilOpen?: number;
  readonly holdMs?: number;
  /** A reply to MAIL FROM instead of 250 (the n-th MAIL in all, from 1), or undefined. */
  readonly mailReply?: (n: number) => string | undefined;
}

/** One message as it arrived. */
export interface Arrival {
  readonly at: number;
  readonly connection: number;
  readonly rcpts: readonly string[];
}

/** A running sink. */
export interface CountingSink {
  readonly port: number;
  readonly connections: number;
  readonly open: number;
  /** The most sessions open at the same time. */
  readonly maxOpen: number;
  readonly arrivals: readonly Arrival[];
  /** Transactions (250 to the dot) per connection, in connection order. */
  readonly perConnection: readonly number[];
  /** When each connection was accepted, on the sink's clock. */
  readonly connectedAt: readonly number[];
  stop(): Promise<void>;
}

/** Starts a sink on 127.0.0.1, port chosen by the system. */
export function startCountingSink(options: SinkOptions = {}): CountingSink {
  const now = options.now ?? Date.now;
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  const perConnection: number[] = [];
  const connectedAt: number[] = [];
  const arrivals: Arrival[] = [];
  const waiting = new Set<() => void>();
  let open = 0;
  let maxOpen = 0;
  let mails = 0;
  const wakeAll = () => {
    for (const wake of waiting) wake();
  };
  const holdData = () => {
    if (!options.holdUntilOpen || open >= options.holdUntilOpen) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, options.holdMs ?? 300);
      function done() {
        clearTimeout(timer);
        waiting.delete(check);
        resolve();
      }
      function check() {
        if (open >= options.holdUntilOpen!) done();
      }
      waiting.add(check);
    });
  };

  async function serve(conn: Deno.Conn, index: number): Promise<void> {
    const say = (text: string) => conn.write(encoder.encode(text));
    await say("220 sink.test ESMTP\r\n");
    let pending = "";
    let inData = false;
    let rcpts: string[] = [];
    const buffer = new Uint8Array(16384);
    for (;;) {
      const n = await conn.read(buffer);
      if (n === null) return;
      pending += decoder.decode(buffer.subarray(0, n));
      let end;
      while ((end = pending.indexOf("\r\n")) >= 0) {
        const line = pending.slice(0, end);
        pending = pending.slice(end + 2);
        if (inData) {
          if (line !== ".") continue;
          inData = false;
          await holdData();
          arrivals.push({ at: now(), connection: index, rcpts });
          perConnection[index] = (perConnection[index] ?? 0) + 1;
          rcpts = [];
          await say("250 2.0.0 queued\r\n");
          continue;
        }
        const verb = line.split(/[ :]/)[0]!.toUpperCase();
        if (verb === "EHLO" || verb === "HELO") await say("250-sink.test\r\n250 PIPELINING\r\n");
        else if (verb === "MAIL") {
          const scripted = options.mailReply?.(++mails);
          await say(`${scripted ?? "250 2.1.0 ok"}\r\n`);
          if (scripted?.startsWith("421")) return;
        } else if (verb === "RCPT") {
          rcpts.push(line.slice(line.indexOf("<") + 1, line.indexOf(">")));
          await say("250 2.1.5 ok\r\n");
        } else if (verb === "DATA") {
          inData = true;
          await say("354 go ahead\r\n");
        } else if (verb === "RSET" || verb === "NOOP") await say("250 2.0.0 ok\r\n");
        else if (verb === "QUIT") {
          await say("221 2.0.0 bye\r\n");
          return;
        } else await say("502 5.5.1 not here\r\n");
      }
    }
  }

  const served = (async () => {
    let index = 0;
    const sessions: Promise<void>[] = [];
    for await (const conn of listener) {
      const mine = index++;
      perConnection[mine] = 0;
      connectedAt[mine] = now();
      conns.add(conn);
      open++;
      maxOpen = Math.max(maxOpen, open);
      wakeAll();
      sessions.push(
        serve(conn, mine).catch(() => {}).finally(() => {
          open--;
          conns.delete(conn);
          try {
            conn.close();
          } catch {
            // Closed already.
          }
        }),
      );
    }
    await Promise.all(sessions);
  })();

  return {
    port: (listener.addr as Deno.NetAddr).port,
    get connections() {
      return perConnection.length;
    },
    get open() {
      return open;
    },
    get maxOpen() {
      return maxOpen;
    },
    arrivals,
    perConnection,
    connectedAt,
    async stop() {
      listener.close();
      for (const conn of conns) {
        try {
          conn.close();
        } catch {
          // Closed already.
        }
      }
      wakeAll();
      await served;
    },
  };
}
