// A permission the daemon lacks for its configuration stops the start with the flag to
// add, as an operator sees it on stderr; it never shows up later as failed deliveries.

import { assertEquals, assertStringIncludes } from "../assert.ts";
import { freePort } from "../_helpers.ts";
import { findSetpriv } from "../../src/delivery/mod.ts";

const CLI = new URL("../../cli.ts", import.meta.url).pathname;
const NARROW = [
  "--allow-net=127.0.0.1",
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-sys",
];

async function startNarrow(conf: string, extra: readonly string[] = []) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...NARROW, ...extra, CLI, "-d", "-u", "root", "-f", conf],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

function skipUnlessRoot(): boolean {
  if (Deno.uid() === 0) return false;
  console.log("skipped: mailboxes of other users are written through children only as root");
  return true;
}

async function configWith(action: string) {
  const dir = await Deno.makeTempDir({ prefix: "smtpd-permissions-" });
  const conf = `${dir}/smtpd.conf`;
  await Deno.writeTextFile(
    conf,
    `queue path "${dir}/queue"\nlisten on 127.0.0.1 port ${freePort()}\n${action}\n` +
      `match from any for domain "example.test" action "a"\n`,
  );
  return { dir, conf };
}

Deno.test("an mda action without --allow-run stops the start naming the flag and the action", async () => {
  const { dir, conf } = await configWith(`action "a" mda "cat >/dev/null"`);
  try {
    const result = await startNarrow(conf);
    assertEquals(result.code, 1);
    assertStringIncludes(result.stderr, "the daemon lacks permissions its configuration needs");
    assertStringIncludes(result.stderr, `--allow-run=`);
    assertStringIncludes(result.stderr, `action "a" runs commands`);
    assertEquals(result.stderr.includes("smtpd: ready"), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "as root, mailboxes of other users without --allow-run stop the start naming the runtime",
  ignore: skipUnlessRoot(),
  async fn() {
    const { dir, conf } = await configWith(
      `action "a" maildir "mail/%{rcpt.user}" userbase { alice = "1000:1000:/nonexistent" }`,
    );
    try {
      const result = await startNarrow(conf);
      assertEquals(result.code, 1);
      assertStringIncludes(
        result.stderr,
        `--allow-run=${Deno.execPath()}: action "a" writes mailboxes as their users`,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "as root, mbox for other users without setpriv in --allow-run stops the start naming it",
  ignore: skipUnlessRoot() || findSetpriv() === undefined,
  async fn() {
    const { dir, conf } = await configWith(`action "a" mbox`);
    try {
      const result = await startNarrow(conf, [`--allow-run=${Deno.execPath()}`]);
      assertEquals(result.code, 1);
      assertStringIncludes(
        result.stderr,
        `--allow-run=${findSetpriv()}: action "a" writes mbox as its users`,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("a Maildir the daemon writes itself needs no --allow-run: the start goes on", async () => {
  const ids = `${Deno.uid()}:${Deno.gid()}`;
  const { dir, conf } = await configWith(
    `action "a" maildir "mail/%{rcpt.user}" userbase { alice = "${ids}:/nonexistent" }`,
  );
  try {
    assertStringIncludes(await logUntilReady(conf), "smtpd: ready");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("without net access to its control socket the daemon says which flag smtpctl needs", async () => {
  const ids = `${Deno.uid()}:${Deno.gid()}`;
  const { dir, conf } = await configWith(
    `action "a" maildir "mail/%{rcpt.user}" userbase { alice = "${ids}:/nonexistent" }`,
  );
  try {
    const log = await logUntilReady(conf);
    const socket = `${dir}/queue-offline/smtpd.sock`;
    assertStringIncludes(log, `control: cannot listen on ${socket}: `);
    assertStringIncludes(log, `add --allow-net=unix:${socket} for smtpctl and sendmail to reach`);
    assertEquals(log.split("cannot listen").length, 2, log);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Starts the daemon with NARROW permissions, reads its log up to "ready", stops it. */
async function logUntilReady(conf: string): Promise<string> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...NARROW, CLI, "-d", "-u", "root", "-f", conf],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let log = "";
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  try {
    while (!log.includes("smtpd: ready")) {
      const { value, done } = await reader.read();
      if (done) break;
      log += value;
    }
    return log;
  } finally {
    child.kill("SIGTERM");
    await child.status;
    reader.releaseLock();
    await child.stderr.cancel().catch(() => {});
  }
}
