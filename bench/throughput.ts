// Throughput benchmark: starts the daemon as a child process on 127.0.0.1, sends M
// messages over S concurrent sessions, and reports accepted msg/s and the time until
// every message is a file in a Maildir.
//
//   deno task bench [--messages 2000] [--sessions 20] [--size 1024] [--per-session 1]
//                   [--recipients 1] [--compression] [--encryption]
//
// The daemon runs with `-T stall`: the result includes its longest event-loop stall.
//
// --per-session N sends N messages per connection (1 = reconnect for every message, as
// Postfix's smtp-source does).

import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    messages: { type: "string", default: "2000" },
    sessions: { type: "string", default: "20" },
    size: { type: "string", default: "1024" },
    "per-session": { type: "string", default: "1" },
    recipients: { type: "string", default: "1" },
    compression: { type: "boolean", default: false },
    encryption: { type: "boolean", default: false },
  },
});
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const MESSAGES = Number(values.messages);
const SESSIONS = Number(values.sessions);
const SIZE = Number(values.size);
const PER_SESSION = Math.max(1, Number(values["per-session"]));
const RECIPIENTS = Math.max(1, Number(values.recipients));

const root = new URL("..", import.meta.url).pathname;
const dir = await Deno.makeTempDir({ prefix: "smtpd-bench-" });
const port = freePort();
await Deno.writeTextFile(
  `${dir}/smtpd.conf`,
  [
    `queue path "${dir}/queue"`,
    ...(values.compression ? ["queue compression"] : []),
    ...(values.encryption ? [`queue encryption ${"ab".repeat(32)}`] : []),
    `listen on 127.0.0.1 port ${port}`,
    `table vusers { "@bench.test" = "vmail" }`,
    `table vbase { vmail = "${Deno.uid()}:${Deno.gid()}:/nonexistent" }`,
    `action "bench" maildir "${dir}/mail/%{rcpt.user:lowercase}" virtual <vusers> userbase <vbase>`,
    `match from any for domain "bench.test" action "bench"`,
  ].join("\n") + "\n",
);

const child = new Deno.Command(Deno.execPath(), {
  args: [
    "run",
    "-A",
    `${root}cli.ts`,
    "-d",
    "-u",
    "root",
    "-T",
    "stall",
    "-f",
    `${dir}/smtpd.conf`,
  ],
  stdout: "null",
  stderr: "piped",
}).spawn();
const daemonLog = new Response(child.stderr).text();

try {
  await waitForBanner(port);
  const body = makeBody(SIZE);
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < MESSAGES) {
      const batch = Math.min(PER_SESSION, MESSAGES - next);
      next += batch;
      await sendSession(port, batch, body);
    }
  };
  await Promise.all(Array.from({ length: SESSIONS }, worker));
  const accepted = performance.now() - started;
  const expected = MESSAGES * RECIPIENTS;
  const deadline = Date.now() + 180_000;
  let delivered = 0;
  while ((delivered = await countDelivered(`${dir}/mail`)) < expected && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
  }
  const e2e = performance.now() - started;
  const result = {
    messages: MESSAGES,
    sessions: SESSIONS,
    size: SIZE,
    perSession: PER_SESSION,
    recipients: RECIPIENTS,
    acceptedPerSecond: Math.round(MESSAGES / (accepted / 1000)),
    acceptSeconds: +(accepted / 1000).toFixed(3),
    delivered,
    endToEndPerSecond: Math.round(delivered / RECIPIENTS / (e2e / 1000)),
    endToEndSeconds: +(e2e / 1000).toFixed(3),
  };
  child.kill("SIGTERM");
  await child.status;
  const stall = /longest event-loop stall ([\d.]+) ms, p99 (\d+) ms/.exec(await daemonLog);
  console.log(JSON.stringify({
    ...result,
    ...(stall ? { stallMaxMs: Number(stall[1]), stallP99Ms: Number(stall[2]) } : {}),
  }));
} finally {
  try {
    child.kill("SIGTERM");
  } catch {
    // Already stopped.
  }
  await child.status;
  await Deno.remove(dir, { recursive: true });
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

async function waitForBanner(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error("the daemon did not start listening within 10 s");
}

function makeBody(size: number): string {
  const lines = ["Subject: bench", "From: a@client.test", "To: u1@bench.test", ""];
  let length = lines.join("\r\n").length;
  while (length < size) {
    const line = "x".repeat(Math.min(76, Math.max(1, size - length)));
    lines.push(line);
    length += line.length + 2;
  }
  return lines.join("\r\n") + "\r\n.\r\n";
}

async function sendSession(port: number, count: number, body: string): Promise<void> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const buffer = new Uint8Array(4096);
  let pending = "";
  const reply = async (expect: string) => {
    while (true) {
      const end = pending.search(/^\d{3} .*\r\n/m);
      if (end !== -1) {
        const eol = pending.indexOf("\r\n", end);
        const line = pending.slice(end, eol);
        pending = pending.slice(eol + 2);
        if (!line.startsWith(expect)) throw new Error(`expected ${expect}, got ${line}`);
        return;
      }
      const n = await conn.read(buffer);
      if (n === null) throw new Error("connection closed");
      pending += decoder.decode(buffer.subarray(0, n));
    }
  };
  const send = (text: string) => conn.write(encoder.encode(text));
  try {
    await reply("220");
    await send("EHLO client.test\r\n");
    await reply("250");
    for (let i = 0; i < count; i++) {
      await send("MAIL FROM:<a@client.test>\r\n");
      await reply("250");
      for (let r = 1; r <= RECIPIENTS; r++) {
        await send(`RCPT TO:<${r === 1 ? "" : r}u1@bench.test>\r\n`);
        await reply("250");
      }
      await send("DATA\r\n");
      await reply("354");
      await send(body);
      await reply("250");
    }
    await send("QUIT\r\n");
    await reply("221");
  } finally {
    conn.close();
  }
}

async function countDelivered(root: string): Promise<number> {
  let count = 0;
  try {
    for await (const user of Deno.readDir(root)) {
      try {
        for await (const _ of Deno.readDir(`${root}/${user.name}/new`)) count++;
      } catch {
        // No new/ yet.
      }
    }
  } catch {
    // No Maildir root yet.
  }
  return count;
}
