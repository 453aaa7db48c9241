// smtpctl(8) against a running daemon (a child process, as an operator starts it) and on
// the queue file with none: each command's text and --json output, pause smtp refusing
// sessions with 421, remove meaning never delivered, schedule making a deferred envelope
// go now, monitor's changing counters, and privileged commands refused to nobody.

import { assertEquals, assertMatch, assertStringIncludes, assertTrue } from "../assert.ts";
import { OWN_IDS, sendMessage, SmtpTestClient, spawnLoggedDaemon, waitFor } from "../_helpers.ts";
import { smtpctl, smtpctlJson, smtpctlOk } from "./_smtpctl.ts";
import { copyModuleCache, skipReason } from "./_privsep.ts";

interface Listed {
  evpid: string;
  rcpt: string;
  attempts: number;
  nextTry: number;
  paused?: boolean;
  lastError?: string;
}

async function listed(conf: string): Promise<Listed[]> {
  return (await smtpctlJson<{ envelopes: Listed[] }>(conf, ["show", "queue"])).envelopes;
}

async function setup(): Promise<{ dir: string; conf: string; port: number }> {
  const dir = await Deno.makeTempDir();
  await Deno.chmod(dir, 0o755);
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const conf = `${dir}/smtpd.conf`;
  await Deno.writeTextFile(
    conf,
    `queue path "${dir}/queue"
table known { "alice@example.test", "bob@example.test", "carol@example.test" }
listen on 127.0.0.1 port ${port}
action "local" maildir "${dir}/mail/%{rcpt.user}" virtual { "@example.test" = "vmail" } userbase { vmail = "${OWN_IDS}:/nonexistent" }
match from any for rcpt-to <known> action "local"
`,
  );
  await Deno.chmod(conf, 0o644);
  return { dir, conf, port };
}

function maildirCount(dir: string): number {
  try {
    return [...Deno.readDirSync(`${dir}/new`)].length;
  } catch {
    return 0;
  }
}

const message = (to: string, subject: string) => ({
  from: "sender@client.test",
  to: [to],
  body: `Subject: ${subject}\n\nbody of ${subject}\n`,
});

Deno.test("smtpctl commands against a running daemon, then offline on the queue file", async () => {
  const { dir, conf, port } = await setup();
  const daemon = spawnLoggedDaemon(conf);
  let stopped = false;
  try {
    await waitFor("the daemon's socket", async () => {
      const s = await Deno.lstat(`${dir}/queue-offline/smtpd.sock`).catch(() => undefined);
      return s?.isSocket ? true : undefined;
    }, 60_000);

    // Unknown commands: OpenSMTPD's usage text, exit 1.
    const unknown = await smtpctl(conf, ["frobnicate"]);
    assertEquals(unknown.code, 1);
    assertEquals(unknown.stderr.trim(), "usage: smtpctl command [argument ...]");

    assertEquals(
      await smtpctlOk(conf, ["show", "status"]),
      "MDA running\nMTA running\nSMTP running\n",
    );
    assertEquals(await smtpctlJson(conf, ["sh", "statu"]), {
      mda: "running",
      mta: "running",
      smtp: "running",
    });

    // pause smtp: a new client is told 421; resume smtp: it is greeted again.
    assertEquals(await smtpctlOk(conf, ["pause", "smtp"]), "command succeeded\n");
    {
      await using client = await SmtpTestClient.connect(port);
      assertMatch(await client.reply(), /^421 4\.3\.2 /);
    }
    assertStringIncludes(await smtpctlOk(conf, ["show", "status"]), "SMTP paused");
    await smtpctlOk(conf, ["resume", "smtp"]);
    await sendMessage(port, message("alice@example.test", "first"));
    await waitFor(
      "the first message delivered",
      () => maildirCount(`${dir}/mail/alice`) === 1 || undefined,
      60_000,
    );

    // schedule: bob's Maildir cannot be made (a file is in the way), so his envelope is
    // deferred; with the way cleared, schedule makes it due now instead of at its retry.
    await Deno.mkdir(`${dir}/mail`, { recursive: true });
    await Deno.writeTextFile(`${dir}/mail/bob`, "in the way");
    await sendMessage(port, message("bob@example.test", "deferred"));
    const deferred = await waitFor(
      "bob's envelope deferred",
      async () =>
        (await listed(conf)).find((e) => e.rcpt === "bob@example.test" && e.attempts >= 1),
      60_000,
    );
    assertTrue(deferred.nextTry > Date.now(), "the retry is in the future");
    const line = (await smtpctlOk(conf, ["show", "queue"])).split("\n").find((l) =>
      l.includes("bob@")
    );
    assertMatch(
      line ?? "",
      new RegExp(
        `^${deferred.evpid}\\|inet4\\|mda\\|\\|sender@client\\.test\\|bob@example\\.test\\|`,
      ),
    );
    // show queue MSGID: that message's envelopes only; another id lists none. The delay
    // (field 13, seconds to the next try) may have ticked between the two listings.
    const withoutDelay = (text: string) =>
      text.trimEnd().split("\n").map((l) => l.split("|").toSpliced(12, 1).join("|"));
    assertEquals(
      withoutDelay(
        await smtpctlOk(conf, ["show", "queue", deferred.evpid.slice(0, 8).toUpperCase()]),
      ),
      withoutDelay(line ?? ""),
    );
    const other = deferred.evpid.startsWith("0") ? "10000000" : "00000000";
    assertEquals(await smtpctlOk(conf, ["show", "queue", other]), "");
    assertMatch(
      await smtpctlOk(conf, ["show", "envelope", deferred.evpid]),
      /^rcpt: bob@example\.test$/m,
    );
    assertEquals(
      (await smtpctlJson<Listed>(conf, ["show", "envelope", deferred.evpid])).rcpt,
      "bob@example.test",
    );
    assertStringIncludes(
      await smtpctlOk(conf, ["show", "message", deferred.evpid]),
      "Subject: deferred",
    );

    // pause and resume envelope: the flag shows in the listing.
    assertEquals(
      await smtpctlOk(conf, ["pause", "envelope", deferred.evpid]),
      "1 envelope paused\n",
    );
    assertEquals((await listed(conf)).find((e) => e.evpid === deferred.evpid)?.paused, true);
    assertStringIncludes(await smtpctlOk(conf, ["show", "queue"]), "|mda|suspend|");
    assertEquals(
      await smtpctlOk(conf, ["resume", "envelope", deferred.evpid]),
      "1 envelope resumed\n",
    );

    await Deno.remove(`${dir}/mail/bob`);
    assertEquals(await smtpctlOk(conf, ["schedule", deferred.evpid]), "1 envelope scheduled\n");
    await waitFor(
      "bob's message delivered",
      () => maildirCount(`${dir}/mail/bob`) === 1 || undefined,
      60_000,
    );

    // remove: with local delivery paused, carol's envelope waits; removed, it never arrives,
    // while the message sent after it, once deliveries resume, does.
    await smtpctlOk(conf, ["pause", "mda"]);
    assertStringIncludes(await smtpctlOk(conf, ["show", "status"]), "MDA paused");
    await sendMessage(port, message("carol@example.test", "removed"));
    const doomed = await waitFor(
      "carol's envelope queued",
      async () =>
        (await listed(conf)).find((e) => e.rcpt === "carol@example.test" && e.attempts >= 1),
      60_000,
    );
    assertEquals(await smtpctlOk(conf, ["remove", doomed.evpid]), "1 envelope removed\n");
    assertEquals((await listed(conf)).some((e) => e.evpid === doomed.evpid), false);
    await smtpctlOk(conf, ["resume", "mda"]);
    await sendMessage(port, message("carol@example.test", "kept"));
    const carol = await waitFor("carol's second message", () => {
      try {
        const names = [...Deno.readDirSync(`${dir}/mail/carol/new`)];
        return names.length > 0 ? names : undefined;
      } catch {
        return undefined;
      }
    }, 60_000);
    assertEquals(carol.length, 1);
    assertStringIncludes(
      await Deno.readTextFile(`${dir}/mail/carol/new/${carol[0]!.name}`),
      "Subject: kept",
    );

    // show stats: the counters agree with what happened.
    const stats = await smtpctlJson<Record<string, number>>(conf, ["show", "stats"]);
    assertTrue((stats["scheduler.delivery.ok"] ?? 0) >= 3, JSON.stringify(stats));
    assertEquals(stats["scheduler.envelope.removed"], 1);
    assertEquals(stats["smtp.session.opened"], 4);
    const statsText = await smtpctlOk(conf, ["show", "stats"]);
    assertMatch(statsText, /^scheduler\.envelope\.removed=1$/m);
    assertMatch(statsText, /^uptime=\d+$/m);
    assertMatch(statsText, /^uptime\.human=\d+[smhdw]/m);

    // The commands that only say whether they worked.
    for (
      const words of [
        ["log", "verbose"],
        ["log", "brief"],
        ["trace", "smtp"],
        ["untrace", "smtp"],
        ["profile", "queue"],
        ["unprofile", "queue"],
      ]
    ) {
      assertEquals(await smtpctlOk(conf, words), "command succeeded\n", words.join(" "));
    }
    assertEquals((await smtpctl(conf, ["trace", "nonsense"])).code, 1);
    assertEquals(await smtpctlOk(conf, ["update", "table", "known"]), "command succeeded\n");
    const noTable = await smtpctl(conf, ["update", "table", "nosuch"]);
    assertEquals(noTable.code, 1);
    assertStringIncludes(noTable.stderr, "nosuch");
    assertEquals(
      await smtpctlOk(conf, ["discover", "0123456789abcdef"]),
      "0 envelopes discovered\n",
    );
    for (const what of ["hosts", "hoststats", "relays", "routes"]) {
      assertEquals(await smtpctlJson(conf, ["show", what]), []);
    }

    // Privileged commands are root's: nobody is refused by the daemon.
    const skip = skipReason();
    if (skip) {
      console.log(`smtpctl as nobody: skipped (${skip})`);
    } else {
      const cache = `${dir}/deno-cache`;
      await copyModuleCache(cache);
      const asNobody = await smtpctl(conf, ["show", "queue"], {
        prefix: ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"],
        env: { DENO_DIR: cache, HOME: "/tmp", NO_COLOR: "1" },
      });
      assertEquals(asNobody.code, 1, asNobody.stderr);
      assertStringIncludes(asNobody.stderr, "need root privileges");
      assertStringIncludes(daemon.log(), 'refused "show queue": not root');
    }

    // Offline: with the daemon stopped, the queue commands work on the file and say so.
    await smtpctlOk(conf, ["pause", "mda"]);
    await sendMessage(port, message("alice@example.test", "left queued"));
    const left = await waitFor(
      "alice's second envelope queued",
      async () => (await listed(conf)).find((e) => e.rcpt === "alice@example.test"),
      60_000,
    );
    daemon.child.kill("SIGTERM");
    await daemon.exited();
    stopped = true;
    const offline = await smtpctl(conf, ["show", "queue"]);
    assertEquals(offline.code, 0, offline.stderr);
    assertStringIncludes(offline.stderr, "working offline");
    assertMatch(offline.stdout, new RegExp(`^${left.evpid}\\|.*\\|offline\\|\\|`, "m"));
    assertEquals((await smtpctlJson<{ offline: boolean }>(conf, ["show", "queue"])).offline, true);
    assertStringIncludes(
      await smtpctlOk(conf, ["show", "message", left.evpid]),
      "Subject: left queued",
    );
    assertEquals(await smtpctlOk(conf, ["schedule", "all"]), "1 envelope scheduled\n");
    assertEquals(await smtpctlOk(conf, ["remove", left.evpid.slice(0, 8)]), "1 envelope removed\n");
    assertEquals((await smtpctlOk(conf, ["show", "queue"])).trim(), "");
    const notRunning = await smtpctl(conf, ["show", "stats"]);
    assertEquals(notRunning.code, 1);
    assertStringIncludes(notRunning.stderr, "smtpd doesn't seem to be running");
  } finally {
    if (!stopped) {
      daemon.child.kill("SIGTERM");
      await daemon.exited();
    }
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("smtpctl and mailq take -D macros, to address one node of a shared smtpd.conf", async () => {
  const dir = await Deno.makeTempDir();
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  await Deno.writeTextFile(`${dir}/virtuals`, "carol@example.test vmail\n");
  // The README's "More than one MX" recipe: what differs per node is given with -D.
  const conf = `${dir}/site.conf`;
  await Deno.writeTextFile(
    conf,
    `queue path $queue
table virtuals file:${dir}/virtuals
listen on 127.0.0.1 port $port
action "vmail" maildir "${dir}/mail/%{rcpt.user}" virtual <virtuals> userbase { vmail = "${OWN_IDS}:/nonexistent" }
match from any for domain "example.test" action "vmail"
`,
  );
  const node = ["-D", `queue=${dir}/mx1`, "-D", `port=${port}`];
  // The node started as the recipe starts it, with its macros.
  const cli = new URL("../../cli.ts", import.meta.url).pathname;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", cli, "-d", "-u", "root", "-f", conf, ...node],
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    await waitFor("the node to listen", async () => {
      try {
        (await Deno.connect({ hostname: "127.0.0.1", port })).close();
        return true;
      } catch {
        return undefined;
      }
    }, 60_000);
    const updated = await smtpctl(conf, [...node, "update", "table", "virtuals"]);
    assertEquals([updated.code, updated.stderr], [0, ""]);
    const mailq = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", cli, "mailq", "-C", conf, ...node],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals([mailq.code, new TextDecoder().decode(mailq.stderr)], [0, ""]);
    // Without them the file does not load, and smtpctl says which macro is missing.
    const bare = await smtpctl(conf, ["update", "table", "virtuals"]);
    assertEquals(bare.code, 78);
    assertStringIncludes(bare.stderr, 'Undefined macro "$queue"');
    const bad = await smtpctl(conf, ["-D", "queue", "update", "table", "virtuals"]);
    assertEquals(bad.code, 64);
    assertStringIncludes(bad.stderr, "-D queue: expected name=value");
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await Deno.remove(dir, { recursive: true });
  }
});
