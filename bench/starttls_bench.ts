// STARTTLS handshakes per second: a listener with a generated certificate (openssl) and
// S concurrent clients that each connect, say EHLO, upgrade, say EHLO again and quit.
//   deno run -A bench/starttls_bench.ts [--handshakes 500] [--sessions 10]

import { parseArgs } from "node:util";
import { SILENT_LOGGER } from "../src/log/mod.ts";
import { startSmtpServer } from "../src/smtp/mod.ts";
import { testCertificate } from "../test/_certificate.ts";
import { connect as connectTcp, type Socket } from "node:net";
import { connect as connectTls } from "node:tls";

const { values } = parseArgs({
  options: {
    handshakes: { type: "string", default: "500" },
    sessions: { type: "string", default: "10" },
  },
});
const TOTAL = Number(values.handshakes);
const SESSIONS = Number(values.sessions);

const certificate = await testCertificate();
if (!certificate) throw new Error("openssl is needed to make the benchmark's certificate");
const server = await startSmtpServer({
  address: "127.0.0.1",
  port: 0,
  hostname: "mx.example.test",
  tls: { mode: "starttls", certificates: [certificate] },
  decide: () => ({ kind: "reject", reason: "benchmark" }),
  submit: () => Promise.resolve(),
  log: SILENT_LOGGER,
});
// Replies of one socket, one at a time (the last line of each multi-line reply).
function replies(socket: Socket): () => Promise<string> {
  let buffer = "";
  const waiting: ((line: string) => void)[] = [];
  socket.on("data", (data: Uint8Array) => {
    buffer += new TextDecoder().decode(data);
    let m;
    while ((m = /^\d{3} [^\r\n]*\r\n/m.exec(buffer))) {
      const end = m.index + m[0].length;
      const line = buffer.slice(m.index, end - 2);
      buffer = buffer.slice(end);
      waiting.shift()?.(line);
    }
  });
  return () => new Promise((resolve) => waiting.push(resolve));
}

// The client is node:tls: Deno's own TLS client adds ~40 ms before its first read here,
// which would measure the client, not the server.
async function session(port: number): Promise<void> {
  const raw = connectTcp({ host: "127.0.0.1", port, noDelay: true });
  let next = replies(raw);
  await next();
  raw.write("EHLO client.test\r\n");
  await next();
  raw.write("STARTTLS\r\n");
  if (!(await next()).startsWith("220")) throw new Error("STARTTLS refused");
  raw.removeAllListeners("data");
  const secure = connectTls({ socket: raw, servername: "mx.example.test", ca: certificate!.ca });
  await new Promise((resolve) => secure.once("secureConnect", resolve));
  next = replies(secure);
  secure.write("EHLO client.test\r\n");
  await next();
  secure.write("QUIT\r\n");
  await next();
  secure.destroy();
}

let started = 0;
const begin = performance.now();
await Promise.all(Array.from({ length: SESSIONS }, async () => {
  while (started < TOTAL) {
    started++;
    await session(server.port);
  }
}));
const seconds = (performance.now() - begin) / 1000;
await server.close();
console.log(JSON.stringify({
  handshakes: TOTAL,
  sessions: SESSIONS,
  seconds: +seconds.toFixed(3),
  handshakesPerSecond: Math.round(TOTAL / seconds),
}));
