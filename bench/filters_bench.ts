// Filter benchmark: in one run, messages per second accepted by the daemon without a
// filter, through one proc-exec filter (a pass-through script speaking smtpd-filters(7)),
// and through built-in DKIM signing (RSA-2048, then Ed25519), same load, each daemon a
// child process on 127.0.0.1.
//
//   deno run -A bench/filters_bench.ts [--messages 1000] [--sessions 10] [--size 2048]

import { generateKeyPairSync } from "node:crypto";
import { DatabaseSync } from "node:sqlite";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    messages: { type: "string", default: "1000" },
    sessions: { type: "string", default: "10" },
    size: { type: "string", default: "2048" },
  },
});
const MESSAGES = Number(values.messages);
const SESSIONS = Number(values.sessions);
const SIZE = Number(values.size);
const root = new URL("..", import.meta.url).pathname;
const filterScript = new URL("./_passthrough_filter.py", import.meta.url).pathname;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** What stands between the session and the queue. */
type Mode = "none" | "proc" | "dkim-rsa" | "dkim-ed25519";

async function measure(label: string, mode: Mode): Promise<Record<string, unknown>> {
  const dir = await Deno.makeTempDir({ prefix: "smtpd-bench-filters-" });
  await Deno.chmod(dir, 0o755);
  const script = `${dir}/filter.py`;
  await Deno.copyFile(filterScript, script);
  await Deno.chmod(script, 0o755);
  const port = freePort();
  const filtered = mode !== "none";
  const key = `${dir}/dkim.key`;
  if (mode === "dkim-rsa" || mode === "dkim-ed25519") {
    const { privateKey } = mode === "dkim-rsa"
      ? generateKeyPairSync("rsa", { modulusLength: 2048 })
      : generateKeyPairSync("ed25519");
    await Deno.writeTextFile(key, privateKey.export({ format: "pem", type: "pkcs8" }) as string);
    await Deno.chmod(key, 0o644);
  }
  const declaration = mode === "proc"
    ? `filter "pass" proc-exec "/usr/bin/python3 ${script}"`
    : `filter "pass" dkim-sign domain bench.test selector b key "${key}"`;
  await Deno.writeTextFile(
    `${dir}/smtpd.conf`,
    [
      `queue path "${dir}/queue"`,
      ...(filtered ? [declaration] : []),
      `listen on 127.0.0.1 port ${port}${filtered ? ' filter "pass"' : ""}`,
      `table vusers { "@bench.test" = "vmail" }`,
      `table vbase { vmail = "${Deno.uid()}:${Deno.gid()}:/nonexistent" }`,
      `action "bench" maildir "${dir}/mail/%{rcpt.user:lowercase}" virtual <vusers> userbase <vbase>`,
      `match from any for domain "bench.test" action "bench"`,
    ].join("\n") + "\n",
  );
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${root}cli.ts`, "-d", "-f", `${dir}/smtpd.conf`],
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    await waitForBanner(port);
    const body = makeBody(SIZE);
    let next = 0;
    let refused = 0;
    const started = performance.now();
    await Promise.all(Array.from({ length: SESSIONS }, async () => {
      while (next < MESSAGES) {
        next++;
        if (!(await sendOne(port, body))) refused++;
      }
    }));
    const seconds = (performance.now() - started) / 1000;
    // What was measured did what it says: a message queued or delivered carries the signature.
    const signed = mode.startsWith("dkim") ? { signed: await sampleSigned(dir) } : {};
    return {
      ...signed,
      label,
      messages: MESSAGES,
      sessions: SESSIONS,
      size: SIZE,
      refused,
      seconds: Number(seconds.toFixed(2)),
      msgPerSecond: Number((MESSAGES / seconds).toFixed(1)),
    };
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await Deno.remove(dir, { recursive: true });
  }
}

const plain = await measure("unfiltered", "none");
console.log(JSON.stringify(plain));
for (
  const [label, mode] of [
    ["one proc-exec filter (pass-through)", "proc"],
    ["built-in DKIM signing, RSA-2048", "dkim-rsa"],
    ["built-in DKIM signing, Ed25519", "dkim-ed25519"],
  ] as const
) {
  const through = await measure(label, mode);
  console.log(JSON.stringify(through));
  console.log(
    `${label}/unfiltered: ${
      ((through.msgPerSecond as number) / (plain.msgPerSecond as number) * 100).toFixed(0)
    }%`,
  );
}

// Whether a message in the queue or the Maildir (waiting up to 60 s for one) is signed.
async function sampleSigned(dir: string): Promise<boolean> {
  const signed = (text: string) => /(^|\n)DKIM-Signature: v=1;/.test(text);
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const db = new DatabaseSync(`${dir}/queue/queue.sqlite`, { readOnly: true });
    try {
      const row = db.prepare("SELECT content FROM messages LIMIT 1").get() as
        | { content: Uint8Array }
        | undefined;
      if (row) return signed(new TextDecoder().decode(row.content));
    } finally {
      db.close();
    }
    try {
      for await (const entry of Deno.readDir(`${dir}/mail/user/new`)) {
        return signed(await Deno.readTextFile(`${dir}/mail/user/new/${entry.name}`));
      }
    } catch {
      // Not delivered yet.
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

function makeBody(size: number): string {
  const line = "The quick brown fox jumps over the lazy dog 0123456789.\r\n";
  // From: the signing domain, so built-in DKIM signs every message.
  let text = "From: <bench@bench.test>\r\nSubject: bench\r\n\r\n";
  while (text.length < size) text += line;
  return text;
}

async function waitForBanner(port: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error("the daemon did not start");
}

// One message in its own session; true when the final dot got a 250.
async function sendOne(port: number, body: string): Promise<boolean> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const buffer = new Uint8Array(4096);
  let pending = "";
  const reply = async (): Promise<string> => {
    while (true) {
      const m = /(^|\r\n)(\d{3}) [^\r\n]*\r\n$/.exec(pending);
      if (m) {
        const text = pending;
        pending = "";
        return text;
      }
      const n = await conn.read(buffer);
      if (n === null) throw new Error("connection closed");
      pending += decoder.decode(buffer.subarray(0, n));
    }
  };
  const say = (text: string) => conn.write(encoder.encode(text));
  try {
    await reply();
    await say("EHLO bench.client\r\n");
    await reply();
    // PIPELINING: MAIL, RCPT and DATA in one write, their replies read together.
    await say("MAIL FROM:<bench@client.test>\r\nRCPT TO:<user@bench.test>\r\nDATA\r\n");
    let replies = "";
    while ((replies.match(/\r\n/g) ?? []).length < 3) replies += await reply();
    await say(`${body}.\r\n`);
    const done = await reply();
    await say("QUIT\r\n");
    return done.startsWith("250");
  } finally {
    conn.close();
  }
}
