// Message data cut at awkward places between the daemon's socket reads — a dot apart from
// its CRLF, a CRLF torn in two, a body ending in a stuffed dot — reaches the Maildir byte for
// byte, as the same data read in one piece does. The io trace tells when a read happened,
// so each piece is sent only once the daemon has read the one before.

import { loadConfig, startDaemon } from "../../mod.ts";
import { type Logger, setTracing } from "../../src/log/mod.ts";
import { assertEquals } from "../assert.ts";
import { freePort, OWN_IDS, readMaildir, SmtpTestClient, waitFor } from "../_helpers.ts";

const encoder = new TextEncoder();

async function startFixture() {
  const dir = await Deno.makeTempDir({ prefix: "smtpd-framing-" });
  const port = freePort();
  const path = `${dir}/smtpd.conf`;
  await Deno.writeTextFile(
    path,
    `queue path "${dir}/queue"
listen on 127.0.0.1 port ${port} hostname mx.example.test
action "local" maildir "${dir}/mail/%{rcpt.user:lowercase}/Maildir" virtual { "@example.test" = "vmail" } userbase { vmail = "${OWN_IDS}:/nonexistent" }
match from any for domain "example.test" action "local"
`,
  );
  const traced: string[] = [];
  const log: Logger = { info() {}, warn() {}, debug() {}, trace: (line) => traced.push(line) };
  setTracing("io", true);
  const daemon = await startDaemon({ config: await loadConfig(path), log });
  // Bytes the daemon has read from its clients so far, as its io trace tells.
  const bytesRead = () =>
    traced.reduce((sum, line) => sum + Number(/: read (\d+) bytes$/.exec(line)?.[1] ?? 0), 0);
  return {
    port,
    bytesRead,
    maildir: (user: string) => `${dir}/mail/${user}/Maildir`,
    async [Symbol.asyncDispose]() {
      setTracing("io", false);
      await daemon.stop();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

type Fixture = Awaited<ReturnType<typeof startFixture>>;

// Sends one message to `user`, its data (terminator included) in the given pieces, each
// after the daemon read the ones before; resolves with the 250's queue id.
async function sendInPieces(fx: Fixture, user: string, pieces: readonly string[]) {
  await using client = await SmtpTestClient.connect(fx.port);
  await client.expect("220 ");
  await client.send("EHLO client.test");
  await client.expect("250 ");
  await client.startData("sender@client.test", [`${user}@example.test`]);
  for (const piece of pieces) {
    const before = fx.bytesRead();
    await client.sendBytes(encoder.encode(piece));
    await waitFor(
      `the daemon to read ${JSON.stringify(piece)}`,
      () => fx.bytesRead() >= before + piece.length || undefined,
    );
  }
  const reply = await client.expect("250 ");
  await client.send("QUIT");
  await client.expect("221 ");
  return reply;
}

// The delivered message from its first header of the client's on (ours come before it),
// without the Date: and Message-ID: that a listener on 127.0.0.1 adds to it.
async function delivered(fx: Fixture, user: string): Promise<string> {
  const files = await waitFor(`the delivery to ${user}`, async () => {
    const found = await readMaildir(fx.maildir(user));
    return found.length > 0 ? found : undefined;
  });
  assertEquals(files.length, 1);
  const text = files[0]!.text;
  return text.slice(text.indexOf("X-Case: ")).replace(/^Date: .*\nMessage-ID: <.*>\n/m, "");
}

const CASES: { name: string; pieces: string[]; expected: string }[] = [
  {
    name: "the final dot apart from its CRLF",
    pieces: ["X-Case: 1\r\n\r\nbody\r\n.", "\r\n"],
    expected: "X-Case: 1\n\nbody\n",
  },
  {
    name: "the final dot's CR apart from its LF",
    pieces: ["X-Case: 2\r\n\r\nbody\r\n.\r", "\n"],
    expected: "X-Case: 2\n\nbody\n",
  },
  {
    name: "a stuffed dot apart from the rest of its line",
    pieces: ["X-Case: 3\r\n\r\nbefore\r\n.", ".hidden\r\nafter\r\n.\r\n"],
    expected: "X-Case: 3\n\nbefore\n.hidden\nafter\n",
  },
  {
    name: "a CRLF torn between reads",
    pieces: ["X-Case: 4\r\n\r\nfirst\r", "\nsecond\r\n.\r\n"],
    expected: "X-Case: 4\n\nfirst\nsecond\n",
  },
  {
    name: "a body ending in a stuffed dot line",
    pieces: ["X-Case: 5\r\n\r\nlast\r\n..\r\n", ".\r\n"],
    expected: "X-Case: 5\n\nlast\n.\n",
  },
  {
    name: "a line that starts with a dot and a CR that is no line end",
    pieces: ["X-Case: 6\r\n\r\n.", "\rx\r\n.\r\n"],
    expected: "X-Case: 6\n\n\rx\n",
  },
];

for (const { name, pieces, expected } of CASES) {
  Deno.test(`message data with ${name} reaches the Maildir as read whole`, async () => {
    await using fx = await startFixture();
    await sendInPieces(fx, "split", pieces);
    await sendInPieces(fx, "whole", [pieces.join("")]);
    assertEquals(await delivered(fx, "split"), expected);
    assertEquals(await delivered(fx, "whole"), expected);
  });
}

Deno.test("a 300 KB body of dot-stuffed lines reaches the Maildir unstuffed, byte for byte", async () => {
  await using fx = await startFixture();
  const lines: string[] = [];
  for (let i = 0; lines.join("").length < 300_000; i++) {
    // Lines of every length up to 997 octets, every seventh one dot-stuffed.
    const text = `${i} ` + "abcdefghij".repeat(100).slice(0, (i * 37) % 990);
    lines.push(i % 7 === 0 ? `..${text}\r\n` : `${text}\r\n`);
  }
  const body = lines.join("");
  await sendInPieces(fx, "big", [`X-Case: big\r\n\r\n${body}.\r\n`]);
  const unstuffed = body.replaceAll("\r\n..", "\r\n.").replace(/^\.\./, ".");
  assertEquals(await delivered(fx, "big"), `X-Case: big\n\n${unstuffed.replaceAll("\r\n", "\n")}`);
});
