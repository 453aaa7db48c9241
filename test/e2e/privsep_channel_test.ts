// The channel between the privileged parent and a child (src/mail/child_channel.ts), across
// real processes: a socket only the child's uid can reach, the token that picks the
// child's connection out of others, the half close both ends rely on (the parent ends its
// requests and still reads the last answers), and nothing left behind in /tmp.

import { findSetpriv } from "../../src/privsep/mod.ts";
import { assertEquals } from "../assert.ts";
import { skipReason } from "./_privsep.ts";

const PARENT = new URL("../fixtures/channel_parent.ts", import.meta.url).pathname;
const CHILD = new URL("../fixtures/channel_child.ts", import.meta.url).pathname;
const NOBODY = 65534;
const STRANGER = 54321;

const CONNECT = `
import socket, sys
s = socket.socket(socket.AF_UNIX)
try:
    s.connect(sys.argv[1])
except OSError as e:
    print("refused", e.errno)
    sys.exit(0)
if sys.argv[2] == "hold":
    print("held", flush=True)
    sys.stdin.read()
    sys.exit(0)
s.settimeout(20)  # a parent that never reads fails the test, not hangs it
s.sendall(sys.argv[2].encode())
s.shutdown(socket.SHUT_WR)
try:
    print("closed" if s.recv(100) == b"" else "answered")
except TimeoutError:
    print("no answer")
`;

interface Offered {
  readonly env: Record<string, string>;
  readonly path: string;
  readonly socket: { mode: number; uid: number; gid: number };
  readonly dirMode: number;
}

async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let text = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    text += chunk;
    let newline;
    while ((newline = text.indexOf("\n")) !== -1) {
      yield text.slice(0, newline);
      text = text.slice(newline + 1);
    }
  }
}

function startParent(uid: number, gid: number) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "-A", PARENT, String(uid), String(gid)],
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const output = lines(child.stdout);
  const next = async () => JSON.parse((await output.next()).value as string);
  return { child, next };
}

function connectCommand(uid: number, path: string, send: string): Deno.Command {
  return new Deno.Command(findSetpriv()!, {
    args: [
      `--reuid=${uid}`,
      `--regid=${uid}`,
      "--clear-groups",
      "/usr/bin/python3",
      "-c",
      CONNECT,
      path,
      send,
    ],
    stdin: "piped",
    stdout: "piped",
  });
}

async function connectAs(uid: number, path: string, send: string): Promise<string> {
  const child = connectCommand(uid, path, send).spawn();
  await child.stdin.close();
  return new TextDecoder().decode((await child.output()).stdout).trim();
}

Deno.test({
  name: "child channel: only the child's uid connects, the token picks its connection, half close",
  ignore: skipReason() !== undefined,
  async fn() {
    const parent = startParent(NOBODY, NOBODY);
    let silent: Deno.ChildProcess | undefined;
    try {
      const offered: Offered = await parent.next();
      // A connection that never sends its token keeps none of the others waiting.
      silent = connectCommand(NOBODY, offered.path, "hold").spawn();
      const held = await silent.stdout.pipeThrough(new TextDecoderStream()).getReader().read();
      assertEquals(held.value?.trim(), "held");
      assertEquals(offered.socket, { mode: 0o600, uid: NOBODY, gid: NOBODY });
      assertEquals(offered.dirMode, 0o711);
      // Another uid is refused by the file system (EACCES); the child's uid without the
      // token has its connection closed, and the parent goes on waiting.
      assertEquals(await connectAs(STRANGER, offered.path, "x\n"), "refused 13");
      const wrong = "0".repeat(offered.env.SMTPD_CHANNEL_TOKEN!.length) + "\n";
      assertEquals(await connectAs(NOBODY, offered.path, wrong), "closed");
      const sent = "the first frame, right after the token";
      const child = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--quiet",
          // What a mailbox writer and the front are given: the socket alone.
          "--allow-env=SMTPD_CHANNEL,SMTPD_CHANNEL_TOKEN",
          `--allow-read=${offered.path}`,
          `--allow-write=${offered.path}`,
          `--allow-net=unix:${offered.path}`,
          CHILD,
          sent,
        ],
        env: offered.env,
        // A parent that never takes the connection fails the test, not hangs it.
        signal: AbortSignal.timeout(20_000),
      }).output();
      const said = (bytes: Uint8Array) => new TextDecoder().decode(bytes).trim();
      assertEquals(said(child.stdout), `got ${sent.length} bytes`, said(child.stderr));
      assertEquals(await parent.next(), { accepted: true, removed: true, received: sent });
    } finally {
      await silent?.stdin.close().catch(() => {});
      await silent?.status;
      await parent.child.stdin.close().catch(() => {});
      await parent.child.status;
    }
  },
});

Deno.test({
  name: "child channel: a child that exits without connecting leaves no socket behind",
  ignore: skipReason() !== undefined,
  async fn() {
    const parent = startParent(NOBODY, NOBODY);
    try {
      const offered: Offered = await parent.next();
      await parent.child.stdin.close();
      assertEquals(await parent.next(), { accepted: false, removed: true });
      assertEquals(await Deno.stat(offered.path).then(() => "there", () => "gone"), "gone");
    } finally {
      await parent.child.status;
    }
  },
});

if (skipReason()) console.log(`privsep_channel_test: skipped: ${skipReason()}`);
