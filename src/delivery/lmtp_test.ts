// Tests deliverByLmtp() against a small LMTP server run in-process, on TCP and on a unix
// socket, that records the dialogue and answers each recipient according to its local part.

import { assertEquals, assertStringIncludes, assertTrue } from "../../test/assert.ts";
import { concatBytes } from "../mail/mod.ts";
import { deliverByLmtp, type LmtpMessage } from "./lmtp.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

// Every test finishes in well under this; a hang fails instead of stalling the suite.
const TIMEOUT_MS = 5_000;

/** What the test server saw on one connection. */
interface Session {
  readonly commands: string[];
  /** The DATA bytes exactly as sent, still dot-stuffed, without the final ".\r\n". */
  data: Uint8Array | undefined;
}

/** How the test server behaves after its greeting. */
type Mode = "normal" | "hangUpAfterGreeting" | "silentAfterGreeting";

interface TestServer {
  readonly target: string;
  readonly sessions: Session[];
  /** Stops listening and waits for every connection to finish; safe to call again. */
  stop(): Promise<void>;
}

function startServer(listener: Deno.Listener, target: string, mode: Mode): TestServer {
  const sessions: Session[] = [];
  const handlers: Promise<void>[] = [];
  const accepting = (async () => {
    for await (const conn of listener) {
      const session: Session = { commands: [], data: undefined };
      sessions.push(session);
      handlers.push(serve(conn, session, mode).finally(() => conn.close()));
    }
  })();
  let stopping: Promise<void> | undefined;
  return {
    target,
    sessions,
    stop() {
      // Tests stop early to inspect what arrived, then again in `finally`; once is enough.
      stopping ??= (async () => {
        listener.close();
        await accepting;
        await Promise.all(handlers);
      })();
      return stopping;
    },
  };
}

function listenTcp(mode: Mode = "normal"): TestServer {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  return startServer(listener, `127.0.0.1:${listener.addr.port}`, mode);
}

function listenUnix(path: string): TestServer {
  return startServer(Deno.listen({ transport: "unix", path }), path, "normal");
}

/** Answers one client; the greeting goes out in two pieces to exercise reply reassembly. */
async function serve(conn: Deno.Conn, session: Session, mode: Mode): Promise<void> {
  const lines = new LineReader(conn);
  await write(conn, "220 lmtp.te");
  await write(conn, "st LMTP ready\r\n");
  if (mode === "hangUpAfterGreeting") return;
  const accepted: string[] = [];
  for (;;) {
    const raw = await lines.next();
    if (raw === undefined) return;
    const line = decoder.decode(raw).replace(/\r\n$/, "");
    session.commands.push(line);
    if (mode === "silentAfterGreeting") continue;
    const verb = line.split(/[ :]/, 1)[0]!.toUpperCase();
    if (verb === "LHLO") {
      await write(conn, "250-lmtp.test\r\n250-PIPELINING\r\n250 ENHANCEDSTATUSCODES\r\n");
    } else if (verb === "MAIL") {
      await write(conn, "250 2.1.0 ok\r\n");
    } else if (verb === "RCPT") {
      const reply = rcptReply(line);
      if (reply.startsWith("250")) accepted.push(line);
      await write(conn, `${reply}\r\n`);
    } else if (verb === "DATA") {
      await write(conn, "354 go ahead\r\n");
      session.data = await readData(lines);
      // All the per-recipient replies in one write, to exercise splitting them apart.
      await write(conn, accepted.map((rcpt) => `${dataReply(rcpt)}\r\n`).join(""));
    } else if (verb === "QUIT") {
      await write(conn, "221 2.0.0 bye\r\n");
      return;
    } else {
      await write(conn, "500 5.5.1 unknown command\r\n");
    }
  }
}

function localPart(rcptLine: string): string {
  return /<([^@>]*)/.exec(rcptLine)?.[1] ?? "";
}

function rcptReply(line: string): string {
  const local = localPart(line);
  if (local.startsWith("temp")) return "452 4.2.2 mailbox full";
  if (local.startsWith("perm")) return "550 5.1.1 no such user";
  return "250 2.1.5 ok";
}

function dataReply(rcptLine: string): string {
  return localPart(rcptLine).startsWith("late")
    ? "554 5.6.0 content rejected"
    : "250 2.0.0 delivered";
}

async function readData(lines: LineReader): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for (;;) {
    const line = await lines.next();
    if (line === undefined || decoder.decode(line) === ".\r\n") return concatBytes(parts);
    parts.push(line);
  }
}

async function write(conn: Deno.Conn, text: string): Promise<void> {
  const data = encoder.encode(text);
  for (let offset = 0; offset < data.length;) offset += await conn.write(data.subarray(offset));
}

/** Splits the bytes from a connection into LF-terminated lines, keeping the line ends. */
class LineReader {
  #buffer: Uint8Array = new Uint8Array(0);
  readonly #conn: Deno.Conn;

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  async next(): Promise<Uint8Array | undefined> {
    for (;;) {
      const end = this.#buffer.indexOf(0x0a);
      if (end >= 0) {
        const line = this.#buffer.slice(0, end + 1);
        this.#buffer = this.#buffer.slice(end + 1);
        return line;
      }
      const chunk = new Uint8Array(4096);
      let n: number | null;
      try {
        n = await this.#conn.read(chunk);
      } catch {
        n = null; // The client hung up hard; for the server that is just the end.
      }
      if (n === null) return undefined;
      this.#buffer = concatBytes([this.#buffer, chunk.subarray(0, n)]);
    }
  }
}

/** Reverses dot-stuffing the way a receiving server does. */
function unstuff(data: Uint8Array): string {
  return decoder.decode(data).split("\r\n").map((line) => line.replace(/^\./, "")).join("\r\n");
}

function message(overrides: Partial<LmtpMessage> = {}): LmtpMessage {
  return {
    sender: "alice@example.test",
    recipients: ["ok@example.test"],
    content: encoder.encode("Subject: hi\r\n\r\nhello\r\n"),
    timeoutMs: TIMEOUT_MS,
    ...overrides,
  };
}

Deno.test("deliverByLmtp() gives each recipient its own result, in order", async () => {
  const server = listenTcp();
  try {
    const results = await deliverByLmtp(
      { target: server.target },
      message({
        recipients: [
          "ok1@example.test",
          "temp@example.test",
          "perm@example.test",
          "late@example.test",
          "ok2@example.test",
        ],
        lhlo: "mx.example.test",
      }),
    );
    assertEquals(results, [
      { kind: "ok" },
      { kind: "tempfail", reason: "452 4.2.2 mailbox full" },
      { kind: "permfail", reason: "550 5.1.1 no such user" },
      { kind: "permfail", reason: "554 5.6.0 content rejected" },
      { kind: "ok" },
    ]);
    await server.stop();
    assertEquals(server.sessions.length, 1);
    assertEquals(server.sessions[0]!.commands, [
      "LHLO mx.example.test",
      "MAIL FROM:<alice@example.test>",
      "RCPT TO:<ok1@example.test>",
      "RCPT TO:<temp@example.test>",
      "RCPT TO:<perm@example.test>",
      "RCPT TO:<late@example.test>",
      "RCPT TO:<ok2@example.test>",
      "DATA",
      "QUIT",
    ]);
  } finally {
    await server.stop();
  }
});

Deno.test("deliverByLmtp() sends each bare LF of the message as CRLF", async () => {
  const server = listenTcp();
  try {
    const results = await deliverByLmtp(
      { target: server.target },
      message({ content: encoder.encode("Subject: lf\r\n\r\nbare\n.dot\nlast") }),
    );
    assertEquals(results, [{ kind: "ok" }]);
    await server.stop();
    const data = server.sessions[0]!.data;
    assertTrue(data !== undefined);
    assertEquals(decoder.decode(data), "Subject: lf\r\n\r\nbare\r\n..dot\r\nlast\r\n");
  } finally {
    await server.stop();
  }
});

Deno.test("deliverByLmtp() dot-stuffs the body so the server restores it exactly", async () => {
  const server = listenTcp();
  const original = "Subject: dots\r\n\r\n.hidden\r\n..two\r\n.\r\nmid.dle\r\n. \r\nend\r\n";
  try {
    const results = await deliverByLmtp(
      { target: server.target },
      message({ content: encoder.encode(original) }),
    );
    assertEquals(results, [{ kind: "ok" }]);
    await server.stop();
    const data = server.sessions[0]!.data;
    assertTrue(data !== undefined);
    assertEquals(
      decoder.decode(data),
      "Subject: dots\r\n\r\n..hidden\r\n...two\r\n..\r\nmid.dle\r\n.. \r\nend\r\n",
    );
    assertEquals(unstuff(data), original);
  } finally {
    await server.stop();
  }
});

Deno.test("deliverByLmtp() ends a body lacking a final CRLF with one", async () => {
  const server = listenTcp();
  try {
    const results = await deliverByLmtp(
      { target: server.target },
      message({ content: encoder.encode(".first\r\nno end") }),
    );
    assertEquals(results, [{ kind: "ok" }]);
    await server.stop();
    assertEquals(decoder.decode(server.sessions[0]!.data), "..first\r\nno end\r\n");
  } finally {
    await server.stop();
  }
});

Deno.test("deliverByLmtp() sends MAIL FROM:<> for the null sender", async () => {
  const server = listenTcp();
  try {
    const results = await deliverByLmtp({ target: server.target }, message({ sender: "" }));
    assertEquals(results, [{ kind: "ok" }]);
    await server.stop();
    assertEquals(server.sessions[0]!.commands.slice(0, 2), ["LHLO localhost", "MAIL FROM:<>"]);
  } finally {
    await server.stop();
  }
});

Deno.test("deliverByLmtp() skips DATA and quits when every recipient is refused", async () => {
  const server = listenTcp();
  try {
    const results = await deliverByLmtp(
      { target: server.target },
      message({ recipients: ["perm@example.test", "temp@example.test"] }),
    );
    assertEquals(results, [
      { kind: "permfail", reason: "550 5.1.1 no such user" },
      { kind: "tempfail", reason: "452 4.2.2 mailbox full" },
    ]);
    await server.stop();
    assertEquals(server.sessions[0]!.commands.slice(-1), ["QUIT"]);
    assertEquals(server.sessions[0]!.data, undefined);
  } finally {
    await server.stop();
  }
});

// Deno grants unix sockets per exact path under --allow-net: `deno task test` allows this one.
const UNIX_DIR = "/tmp/smtpd-lmtp-test";

Deno.test("deliverByLmtp() delivers over a unix socket", async () => {
  const dir = UNIX_DIR;
  await Deno.mkdir(dir, { recursive: true });
  await Deno.remove(`${dir}/lmtp.sock`).catch(() => {});
  const server = listenUnix(`${dir}/lmtp.sock`);
  try {
    const results = await deliverByLmtp(
      { target: server.target },
      message({ recipients: ["ok@example.test", "late@example.test"] }),
    );
    assertEquals(results, [
      { kind: "ok" },
      { kind: "permfail", reason: "554 5.6.0 content rejected" },
    ]);
    await server.stop();
    assertEquals(unstuff(server.sessions[0]!.data!), "Subject: hi\r\n\r\nhello\r\n");
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deliverByLmtp() tempfails all when the server hangs up after greeting", async () => {
  const server = listenTcp("hangUpAfterGreeting");
  try {
    const results = await deliverByLmtp(
      { target: server.target },
      message({ recipients: ["ok1@example.test", "ok2@example.test"] }),
    );
    assertEquals(results.length, 2);
    for (const result of results) assertEquals(result.kind, "tempfail");
  } finally {
    await server.stop();
  }
});

Deno.test("deliverByLmtp() tempfails everyone when the server stops answering", async () => {
  const server = listenTcp("silentAfterGreeting");
  try {
    const results = await deliverByLmtp(
      { target: server.target },
      message({ recipients: ["ok1@example.test", "ok2@example.test"], timeoutMs: 200 }),
    );
    assertEquals(results.length, 2);
    for (const result of results) {
      assertEquals(result.kind, "tempfail");
      assertStringIncludes(result.kind === "tempfail" ? result.reason : "", "200 ms");
    }
  } finally {
    await server.stop();
  }
});

Deno.test("deliverByLmtp() tempfails everyone when the connection is refused", async () => {
  // A port that was just free and is now closed has nobody listening on it.
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = probe.addr.port;
  probe.close();
  const results = await deliverByLmtp(
    { target: `127.0.0.1:${port}` },
    message({ recipients: ["ok1@example.test", "ok2@example.test"] }),
  );
  assertEquals(results.length, 2);
  for (const result of results) {
    assertEquals(result.kind, "tempfail");
    assertStringIncludes(result.kind === "tempfail" ? result.reason : "", "cannot connect");
  }
});
