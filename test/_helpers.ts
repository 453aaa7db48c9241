// Helpers for cross-box tests: free ports, a raw SMTP conversation, polling with a bound,
// and reading Maildirs back.

import { DatabaseSync } from "node:sqlite";

/** A port on 127.0.0.1 that was free a moment ago. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Polls until the check returns a value other than undefined, or fails after the bound. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await check();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
}

/**
 * Waits until the queue in `dir/queue` holds no envelope. A daemon records a delivery
 * only once its writer or command has finished, and a failed recipient stays until its
 * report is queued: an empty queue means every delivery and every report is done.
 */
export async function queueDrained(dir: string): Promise<void> {
  await waitFor("every delivery recorded in the queue", () => {
    const db = new DatabaseSync(`${dir}/queue/queue.sqlite`, { readOnly: true });
    try {
      const left = db.prepare("SELECT count(*) AS n FROM envelopes").get() as { n: number };
      return left.n === 0 || undefined;
    } finally {
      db.close();
    }
  }, 60_000);
}

/** Waits until something accepts connections on 127.0.0.1:port (a daemon starting). */
export function waitListening(port: number, timeoutMs = 30_000): Promise<true> {
  return waitFor("the daemon to listen", async () => {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return true as const;
    } catch {
      return undefined;
    }
  }, timeoutMs);
}

/** The files in a Maildir's new/ directory, sorted, with their contents. */
export async function readMaildir(dir: string): Promise<{ name: string; text: string }[]> {
  const files: { name: string; text: string }[] = [];
  try {
    for await (const entry of Deno.readDir(`${dir}/new`)) {
      if (entry.isFile) {
        files.push({ name: entry.name, text: await Deno.readTextFile(`${dir}/new/${entry.name}`) });
      }
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return files.sort((a, b) => a.name.localeCompare(b.name));
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A raw SMTP client for dialogue tests: send lines, read whole replies. */
export class SmtpTestClient implements AsyncDisposable {
  #conn: Deno.Conn;
  #pending = "";
  #closed = false;

  private constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  /** Connects to 127.0.0.1:port. */
  static async connect(port: number): Promise<SmtpTestClient> {
    return new SmtpTestClient(await Deno.connect({ hostname: "127.0.0.1", port }));
  }

  /** Connects with TLS from the first byte (SMTPS), verifying the given name. */
  static async connectTls(port: number, options: { hostname: string; caCerts: string[] }) {
    const tcp = await Deno.connect({ hostname: "127.0.0.1", port });
    return new SmtpTestClient(await Deno.startTls(tcp, options));
  }

  /** Starts TLS on the connection (after the server's 220 to STARTTLS). */
  async startTls(options: { hostname: string; caCerts: string[] }): Promise<void> {
    this.#conn = await Deno.startTls(this.#conn as Deno.TcpConn, options);
  }

  /** Sends one line (CRLF added). */
  async send(line: string): Promise<void> {
    await this.#conn.write(encoder.encode(line + "\r\n"));
  }

  /** Sends raw bytes as they are. */
  async sendRaw(text: string): Promise<void> {
    await this.#conn.write(encoder.encode(text));
  }

  /** Sends bytes as they are (a binary PROXY header, a big body), all of them. */
  async sendBytes(bytes: Uint8Array): Promise<void> {
    for (let sent = 0; sent < bytes.length;) sent += await this.#conn.write(bytes.subarray(sent));
  }

  /** Reads one whole reply (all its lines); the last line starts with `NNN `. */
  async reply(): Promise<string> {
    const buffer = new Uint8Array(8192);
    while (true) {
      const match = /^\d{3} [^\r\n]*\r\n/m.exec(this.#pending);
      if (match) {
        const end = match.index + match[0].length;
        const text = this.#pending.slice(0, end - 2);
        this.#pending = this.#pending.slice(end);
        return text;
      }
      const n = await this.#conn.read(buffer);
      if (n === null) {
        throw new Error(`Connection closed; unread: ${JSON.stringify(this.#pending)}`);
      }
      this.#pending += decoder.decode(buffer.subarray(0, n));
    }
  }

  /** Reads a reply and checks that it starts with the prefix; returns it. */
  async expect(prefix: string): Promise<string> {
    const text = await this.reply();
    const last = text.split("\r\n").at(-1) ?? "";
    if (!last.startsWith(prefix)) throw new Error(`Expected "${prefix}…", got "${text}"`);
    return text;
  }

  /** MAIL FROM, RCPT TO for each recipient and DATA, each answered as it should be. */
  async startData(from: string, to: readonly string[]): Promise<void> {
    await this.send(`MAIL FROM:<${from}>`);
    await this.expect("250 ");
    for (const rcpt of to) {
      await this.send(`RCPT TO:<${rcpt}>`);
      await this.expect("250 ");
    }
    await this.send("DATA");
    await this.expect("354 ");
  }

  /** Resolves true once the server has closed the connection. */
  async closedByServer(): Promise<boolean> {
    const buffer = new Uint8Array(1024);
    try {
      while ((await this.#conn.read(buffer)) !== null) { /* drain */ }
    } catch {
      // A reset also means closed.
    }
    return true;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // Already closed by the peer.
    }
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }
}

/** Sends one message in its own session; resolves with the reply to the final dot. */
export async function sendMessage(
  port: number,
  message: { from: string; to: readonly string[]; body: string },
): Promise<string> {
  await using client = await SmtpTestClient.connect(port);
  await client.expect("220 ");
  await client.send("EHLO client.test");
  await client.expect("250 ");
  await client.send(`MAIL FROM:<${message.from}>`);
  await client.expect("250 ");
  for (const rcpt of message.to) {
    await client.send(`RCPT TO:<${rcpt}>`);
    await client.expect("250 ");
  }
  await client.send("DATA");
  await client.expect("354 ");
  await client.sendRaw(message.body.replace(/\r?\n/g, "\r\n") + "\r\n.\r\n");
  const reply = await client.expect("250 ");
  await client.send("QUIT");
  await client.expect("221 ");
  return reply;
}

/**
 * `uid:gid` of this process, for userbase entries in test configurations: a root daemon
 * delivers as the mailbox's user, and test mailboxes belong to whoever runs the tests.
 */
export const OWN_IDS = `${Deno.uid()}:${Deno.gid()}`;

const CLI_PATH = new URL("../cli.ts", import.meta.url).pathname;

/**
 * Starts the daemon as a child process (`cli.ts -d -u root -f CONF`), as an operator would;
 * its log is shown when SMTPD_TEST_LOG is set, for debugging a test. `-u root` keeps it one
 * process even as root, so that it reaches the test's private directories (the separated
 * daemon is tested in test/e2e/privsep_test.ts).
 */
export function spawnDaemon(conf: string, env: Record<string, string> = {}): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI_PATH, "-d", "-u", "root", "-f", conf],
    env,
    stdout: "null",
    stderr: Deno.env.get("SMTPD_TEST_LOG") ? "inherit" : "null",
  }).spawn();
}

/** A child daemon whose log (its standard error) is collected as it is written. */
export interface LoggedDaemon {
  readonly child: Deno.ChildProcess;
  /** Everything the daemon logged so far. */
  log(): string;
  /** Resolves once the daemon has exited and its log is read to the end. */
  exited(): Promise<Deno.CommandStatus>;
}

/**
 * Starts the daemon as {@link spawnDaemon} does, collecting its log for the test to read;
 * `separated`: as root, with its SMTP front as _smtpd (no `-u root`).
 */
export function spawnLoggedDaemon(
  conf: string,
  env: Record<string, string> = {},
  options: { separated?: boolean } = {},
): LoggedDaemon {
  const user = options.separated ? [] : ["-u", "root"];
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI_PATH, "-d", ...user, "-f", conf],
    env,
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let text = "";
  const reading = child.stderr.pipeThrough(new TextDecoderStream()).pipeTo(
    new WritableStream({ write: (chunk) => void (text += chunk) }),
  );
  return {
    child,
    log: () => text,
    exited: async () => {
      const status = await child.status;
      await reading;
      return status;
    },
  };
}

/**
 * Whether `command args` runs and exits 0: false when it is not installed. Spawning a
 * program that does not exist throws at once rather than rejecting, so both are caught.
 */
export async function commandSucceeds(command: string, args: string[]): Promise<boolean> {
  try {
    const out = await new Deno.Command(command, { args, stdout: "null", stderr: "null" }).output();
    return out.success;
  } catch {
    return false;
  }
}

/** Waits until a daemon whose queue is `queueDir` serves its local socket (sendmail's). */
export async function waitForLocalSocket(queueDir: string): Promise<void> {
  await waitFor("the daemon's socket", async () => {
    const s = await Deno.lstat(`${queueDir}-offline/smtpd.sock`).catch(() => undefined);
    return s?.isSocket ? true : undefined;
  }, 60_000);
}

/** What one run of the command line (`deno run -A cli.ts ARGS…`) printed and how it ended. */
export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `cli.ts ARGS…` as an operator would, with `input` on its standard input. */
export async function runCli(args: readonly string[], input?: string): Promise<CliRun> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI_PATH, ...args],
    stdin: input === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (input !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(input));
    await writer.close();
  }
  const out = await child.output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}
