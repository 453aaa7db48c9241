// `smtpctl monitor` prints OpenSMTPD's header and a line a second whose counters change
// while mail flows; `smtpctl encrypt` hashes a password from its argument or each line of
// standard input without a daemon, as smtpctl(8) says.

import { assertEquals, assertMatch, assertTrue } from "../assert.ts";
import { freePort, OWN_IDS, sendMessage, spawnLoggedDaemon, waitFor } from "../_helpers.ts";
import { smtpctl, smtpctlJson } from "./_smtpctl.ts";

const CLI = new URL("../../cli.ts", import.meta.url).pathname;

Deno.test("smtpctl monitor shows the counters moving while mail flows", async () => {
  const dir = await Deno.makeTempDir();
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const conf = `${dir}/smtpd.conf`;
  await Deno.writeTextFile(
    conf,
    `queue path "${dir}/queue"
listen on 127.0.0.1 port ${port}
action "local" maildir "${dir}/mail" virtual { "@example.test" = "vmail" } userbase { vmail = "${OWN_IDS}:/nonexistent" }
match from any for domain "example.test" action "local"
`,
  );
  const daemon = spawnLoggedDaemon(conf);
  let monitor: Deno.ChildProcess | undefined;
  try {
    await waitFor("the daemon's socket", async () => {
      const s = await Deno.lstat(`${dir}/queue-offline/smtpd.sock`).catch(() => undefined);
      return s?.isSocket ? true : undefined;
    }, 60_000);
    monitor = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", CLI, "smtpctl", "-f", conf, "monitor"],
      stdout: "piped",
      stderr: "null",
    }).spawn();
    let text = "";
    const reading = monitor.stdout.pipeThrough(new TextDecoderStream()).pipeTo(
      new WritableStream({ write: (chunk) => void (text += chunk) }),
    );
    // Whole lines only: a chunk may end in the middle of one.
    const lines = () => text.split("\n").slice(0, -1);
    await waitFor("monitor's first line", () => lines().length >= 3 || undefined, 60_000);
    assertEquals(
      lines()[0],
      "--- client ---  -- envelope --   ---- relay/delivery --- ------- misc -------",
    );
    assertEquals(
      lines()[1],
      "curr conn disc  curr  enq  deq   ok tmpfail prmfail loop expire remove bounce",
    );
    // Before any mail: every counter is zero.
    assertMatch(lines()[2]!, /^\s+0\s+0\s+0\s+0\s+0\s+0\s+0\s+0\s+0\s+0\s+0\s+0\s+0$/);
    // Mail flows until a line shows it: new clients, enqueued and delivered envelopes.
    let lastSent = 0;
    const moved = await waitFor("a line with new clients and deliveries", async () => {
      // One message per monitor interval is enough to move every column.
      if (Date.now() - lastSent >= 1000) {
        lastSent = Date.now();
        await sendMessage(port, {
          from: "a@client.test",
          to: ["x@example.test"],
          body: "Subject: hi\n\nhi\n",
        });
      }
      return lines().slice(2).map((l) => l.trim().split(/\s+/).map(Number))
        .find((v) => v.length === 13 && v[1]! > 0 && v[4]! > 0 && v[6]! > 0);
    }, 60_000);
    assertTrue(moved.every((n) => Number.isInteger(n) && n >= 0));
    monitor.kill("SIGTERM");
    await monitor.status;
    await reading.catch(() => {});
    monitor = undefined;
  } finally {
    if (monitor) {
      monitor.kill("SIGTERM");
      await monitor.status;
    }
    daemon.child.kill("SIGTERM");
    await daemon.exited();
    await Deno.remove(dir, { recursive: true });
  }
});

// monitor's first counters line, split into its 13 numbers.
async function firstMonitorLine(conf: string): Promise<number[]> {
  const monitor = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, "smtpctl", "-f", conf, "monitor"],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  let text = "";
  const reading = monitor.stdout.pipeThrough(new TextDecoderStream()).pipeTo(
    new WritableStream({ write: (chunk) => void (text += chunk) }),
  );
  try {
    const line = await waitFor("monitor's first line", () => text.split("\n")[2], 60_000);
    return line.trim().split(/\s+/).map(Number);
  } finally {
    monitor.kill("SIGTERM");
    await monitor.status;
    await reading.catch(() => {});
  }
}

Deno.test("smtpctl monitor counts the envelopes found in the queue at start, as show stats does", async () => {
  const dir = await Deno.makeTempDir();
  const [port, closed] = [freePort(), freePort()];
  const conf = `${dir}/smtpd.conf`;
  // Nothing listens on the relay's port: the envelopes wait in the queue.
  await Deno.writeTextFile(
    conf,
    `queue path "${dir}/queue"
listen on 127.0.0.1 port ${port}
action "out" relay host smtp://127.0.0.1:${closed}
match from any for domain "far.test" action "out"
`,
  );
  const socket = () =>
    waitFor("the daemon's socket", async () => {
      const s = await Deno.lstat(`${dir}/queue-offline/smtpd.sock`).catch(() => undefined);
      return s?.isSocket ? true : undefined;
    }, 60_000);
  try {
    const first = spawnLoggedDaemon(conf);
    try {
      await socket();
      await sendMessage(port, {
        from: "a@client.test",
        to: ["x@far.test", "y@far.test"],
        body: "Subject: hi\n\nhi\n",
      });
    } finally {
      first.child.kill("SIGTERM");
      await first.exited();
    }
    const daemon = spawnLoggedDaemon(conf);
    try {
      await socket();
      const stats = await smtpctlJson<Record<string, number>>(conf, ["show", "stats"]);
      assertEquals(stats["scheduler.envelope"], 2);
      // The envelope "curr" column.
      assertEquals((await firstMonitorLine(conf))[3], 2);
    } finally {
      daemon.child.kill("SIGTERM");
      await daemon.exited();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("smtpctl encrypt hashes the argument, or each line of standard input", async () => {
  const conf = "/nonexistent/smtpd.conf"; // encrypt needs no configuration
  const one = await smtpctl(conf, ["encrypt", "secret"]);
  assertEquals(one.code, 0, one.stderr);
  assertMatch(one.stdout, /^\$\S+\n$/);
  const two = await smtpctl(conf, ["encrypt"], { stdin: "first\nsecond\n" });
  assertEquals(two.code, 0, two.stderr);
  const hashes = two.stdout.trim().split("\n");
  assertEquals(hashes.length, 2);
  assertTrue(hashes[0] !== hashes[1]);
});

Deno.test("smtpctl monitor without a daemon says smtpd doesn't seem to be running, exit 1", async () => {
  const dir = await Deno.makeTempDir();
  const conf = `${dir}/smtpd.conf`;
  await Deno.writeTextFile(
    conf,
    `queue path "${dir}/queue"\nlisten on 127.0.0.1 port 0\n` +
      `action "a" maildir "${dir}/mail"\nmatch for local action "a"\n`,
  );
  const result = await smtpctl(conf, ["monitor"]);
  assertEquals([result.code, result.stdout], [1, ""]);
  assertMatch(result.stderr, /^smtpctl: smtpd doesn't seem to be running \(.*\)\n$/);
  await Deno.remove(dir, { recursive: true });
});
