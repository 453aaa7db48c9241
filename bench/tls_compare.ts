// STARTTLS beside Postfix in the same run: sessions per second (connect, EHLO, STARTTLS,
// handshake, EHLO, QUIT) with 1 and 10 clients, and the memory each idle TLS session
// costs (PSS of the server's processes with N sessions open past their handshake, less
// before). OpenSMTPD 6.8 is not measured: its TLS (libtls over OpenSSL) does not work
// with Debian 12's OpenSSL 3.
//
//   deno run -A bench/tls_compare.ts [--sessions 1000] [--idle 90] [--reps 3]
//                                    [--shared-bench ../shared/bench]
//
// As root, with Postfix extracted by ../shared/bench/setup.sh under /opt/postfix. The
// idle count defaults to 90: stock Postfix serves at most 100 sessions at once.

import { parseArgs } from "node:util";
import { connect as connectTcp, type Socket } from "node:net";
import { connect as connectTls, type TLSSocket } from "node:tls";
import { testCertificate } from "../test/_certificate.ts";
import { freePort, memoryOf } from "./_scale_tools.ts";

const { values } = parseArgs({
  options: {
    sessions: { type: "string", default: "1000" },
    idle: { type: "string", default: "90" },
    reps: { type: "string", default: "3" },
    // The shared bench beside the checkout (../shared/bench), or where --shared-bench says.
    "shared-bench": {
      type: "string",
      default: new URL("../../shared/bench", import.meta.url).pathname,
    },
  },
});
const SESSIONS = Number(values.sessions);
const IDLE = Number(values.idle);
const REPS = Number(values.reps);
const root = new URL("..", import.meta.url).pathname;
if (Deno.uid() !== 0) throw new Error("run as root: both servers start as production runs them");

const certificate = await testCertificate("mx.bench.test");
if (!certificate) throw new Error("openssl is needed to make the certificate");
const work = await Deno.makeTempDir({ prefix: "smtpd-tls-bench-" });
await Deno.chmod(work, 0o755);
await Deno.writeTextFile(`${work}/cert.pem`, certificate.cert);
await Deno.writeTextFile(`${work}/key.pem`, certificate.key);
await Deno.chmod(`${work}/key.pem`, 0o644);

/** A server under test, started in a session of its own. */
interface Server {
  readonly label: string;
  readonly child: Deno.ChildProcess;
  readonly port: number;
}

async function startProject(): Promise<Server> {
  const dir = await Deno.makeTempDir({ dir: work, prefix: "project-" });
  await Deno.chmod(dir, 0o755);
  await Deno.mkdir(`${dir}/mail`);
  const port = freePort();
  await Deno.writeTextFile(
    `${dir}/smtpd.conf`,
    [
      `pki mx.bench.test cert "${work}/cert.pem"`,
      `pki mx.bench.test key "${work}/key.pem"`,
      `queue path "${dir}/queue"`,
      `table vusers { "@bench.test" = "benchmail" }`,
      `listen on 127.0.0.1 port ${port} tls pki mx.bench.test hostname mx.bench.test`,
      `action "bench" maildir "${dir}/mail/%{rcpt.user:lowercase}" virtual <vusers>`,
      `match from any for domain "bench.test" action "bench"`,
    ].join("\n") + "\n",
  );
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${root}cli.ts`, "-d", "-f", `${dir}/smtpd.conf`],
    stdout: "null",
    stderr: "null",
  }).spawn();
  await waitGreeting(port);
  return { label: "project", child, port };
}

async function startPostfix(): Promise<Server> {
  const dir = await Deno.makeTempDir({ dir: work, prefix: "postfix-" });
  await Deno.chmod(dir, 0o755);
  const port = freePort();
  const child = new Deno.Command("setsid", {
    args: [
      `${root}bench/_postfix_tls.sh`,
      values["shared-bench"],
      dir,
      String(port),
      `${work}/cert.pem`,
      `${work}/key.pem`,
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  await waitGreeting(port);
  return { label: "Postfix 3.7.11", child, port };
}

async function stop(server: Server): Promise<void> {
  try {
    server.child.kill("SIGTERM");
  } catch {
    // Gone already.
  }
  await server.child.status;
}

async function waitGreeting(port: number): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (true) {
    try {
      const socket = await open(port);
      socket.destroy();
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`nothing greets on port ${port}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

// Replies of one socket, one at a time (the last line of each multi-line reply).
function replies(socket: Socket | TLSSocket): () => Promise<string> {
  let buffer = "";
  const waiting: ((line: string) => void)[] = [];
  const failed: ((error: Error) => void)[] = [];
  socket.on("data", (data: Uint8Array) => {
    buffer += new TextDecoder().decode(data);
    let m;
    while ((m = /^\d{3} [^\r\n]*\r\n/m.exec(buffer))) {
      const end = m.index + m[0].length;
      buffer = buffer.slice(end);
      failed.shift();
      waiting.shift()?.(m[0].slice(0, -2));
    }
  });
  socket.on("error", (error: Error) => failed.splice(0).forEach((f) => f(error)));
  socket.on("close", () => failed.splice(0).forEach((f) => f(new Error("closed"))));
  return () =>
    new Promise((resolve, reject) => {
      waiting.push(resolve);
      failed.push(reject);
    });
}

async function open(port: number): Promise<Socket> {
  const raw = connectTcp({ host: "127.0.0.1", port, noDelay: true });
  const next = replies(raw);
  const banner = await next();
  if (!banner.startsWith("220")) throw new Error(`banner: ${banner}`);
  raw.removeAllListeners("data");
  return raw;
}

// Connect, EHLO, STARTTLS, handshake, EHLO; the TLS socket is returned open.
async function upgrade(port: number): Promise<TLSSocket> {
  const raw = connectTcp({ host: "127.0.0.1", port, noDelay: true });
  let next = replies(raw);
  await next();
  raw.write("EHLO client.test\r\n");
  await next();
  raw.write("STARTTLS\r\n");
  const ready = await next();
  if (!ready.startsWith("220")) throw new Error(`STARTTLS: ${ready}`);
  raw.removeAllListeners("data");
  raw.removeAllListeners("close");
  raw.removeAllListeners("error");
  const secure = connectTls({ socket: raw, servername: "mx.bench.test", ca: certificate!.ca });
  await new Promise((resolve, reject) => {
    secure.once("secureConnect", resolve);
    secure.once("error", reject);
  });
  next = replies(secure);
  secure.write("EHLO client.test\r\n");
  const ehlo = await next();
  if (!ehlo.startsWith("250")) throw new Error(`EHLO after STARTTLS: ${ehlo}`);
  secure.removeAllListeners("data");
  return secure;
}

async function quit(secure: TLSSocket): Promise<void> {
  const next = replies(secure);
  secure.write("QUIT\r\n");
  await next().catch(() => {});
  secure.destroy();
}

async function sessionsPerSecond(server: Server, clients: number): Promise<number> {
  let started = 0;
  const begin = performance.now();
  await Promise.all(Array.from({ length: clients }, async () => {
    while (started < SESSIONS) {
      started++;
      await quit(await upgrade(server.port));
    }
  }));
  return Math.round(SESSIONS / ((performance.now() - begin) / 1000));
}

async function idleCost(server: Server): Promise<{ pssBefore: number; pssKiBPerSession: number }> {
  const pid = server.child.pid;
  const before = await memoryOf(pid);
  const open: TLSSocket[] = [];
  // At most 10 handshakes at a time, as a crowd of clients would come.
  for (let first = 0; first < IDLE; first += 10) {
    const group = Math.min(10, IDLE - first);
    open.push(...await Promise.all(Array.from({ length: group }, () => upgrade(server.port))));
  }
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const during = await memoryOf(pid);
  await Promise.all(open.map(quit));
  return {
    pssBefore: before.pss,
    pssKiBPerSession: Math.round((during.pss - before.pss) * 1024 / IDLE),
  };
}

const results: Record<string, unknown>[] = [];
try {
  for (let rep = 1; rep <= REPS; rep++) {
    for (const start of [startPostfix, startProject]) {
      const server = await start();
      try {
        // A few sessions first: code paths compiled, caches warm, as on a running server.
        for (let n = 0; n < 20; n++) await quit(await upgrade(server.port));
        const one = await sessionsPerSecond(server, 1);
        const ten = await sessionsPerSecond(server, 10);
        const idle = await idleCost(server);
        const result = { server: server.label, rep, perSecond1: one, perSecond10: ten, ...idle };
        console.log(JSON.stringify(result));
        results.push(result);
      } finally {
        await stop(server);
      }
    }
  }
} finally {
  await Deno.remove(work, { recursive: true });
}
console.log(
  JSON.stringify({ opensmtpd: "not measured: OpenSMTPD 6.8's TLS fails on Debian 12's OpenSSL 3" }),
);
