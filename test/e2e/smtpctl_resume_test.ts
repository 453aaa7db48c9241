// smtpctl resume mda|mta sends again what the pause turned away, and nothing else: an
// envelope waiting out its retry keeps its attempt count and its time.

import { assertEquals } from "../assert.ts";
import {
  freePort,
  OWN_IDS,
  sendMessage,
  spawnLoggedDaemon,
  waitFor,
  waitForLocalSocket,
} from "../_helpers.ts";
import { smtpctlJson, smtpctlOk } from "./_smtpctl.ts";

interface Listed {
  evpid: string;
  rcpt: string;
  attempts: number;
  nextTry: number;
  lastError?: string;
}

async function listed(conf: string): Promise<Listed[]> {
  return (await smtpctlJson<{ envelopes: Listed[] }>(conf, ["show", "queue"])).envelopes;
}

function delivered(dir: string): number {
  try {
    return [...Deno.readDirSync(`${dir}/new`)].length;
  } catch {
    return 0;
  }
}

Deno.test("smtpctl resume mda delivers what the pause held, and leaves a deferred relay envelope's retry alone", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.chmod(dir, 0o755);
  const port = freePort();
  // Nothing listens there: the relay envelope is deferred, its next try 400 s on.
  const closed = freePort();
  const conf = `${dir}/smtpd.conf`;
  await Deno.writeTextFile(
    conf,
    `queue path "${dir}/queue"
listen on 127.0.0.1 port ${port}
action "local" maildir "${dir}/mail" virtual { "@example.test" = "vmail" } userbase { vmail = "${OWN_IDS}:/nonexistent" }
action "out" relay host smtp://127.0.0.1:${closed}
match from any for domain "example.test" action "local"
match from any for domain "far.test" action "out"
`,
  );
  const daemon = spawnLoggedDaemon(conf);
  try {
    await waitForLocalSocket(`${dir}/queue`);
    await sendMessage(port, {
      from: "a@client.test",
      to: ["bob@far.test"],
      body: "Subject: far\n\nx\n",
    });
    const deferred = await waitFor(
      "the relay envelope deferred",
      async () => (await listed(conf)).find((e) => e.rcpt === "bob@far.test" && e.attempts >= 1),
      60_000,
    );
    await smtpctlOk(conf, ["pause", "mda"]);
    await sendMessage(port, {
      from: "a@client.test",
      to: ["alice@example.test"],
      body: "Subject: held\n\nx\n",
    });
    await waitFor(
      "the local envelope turned away by the pause",
      async () =>
        (await listed(conf)).find((e) => e.rcpt === "alice@example.test" && e.attempts >= 1),
      60_000,
    );
    await smtpctlOk(conf, ["resume", "mda"]);
    await waitFor(
      "the held message delivered",
      () => delivered(`${dir}/mail`) === 1 || undefined,
      60_000,
    );
    const after = (await listed(conf)).find((e) => e.evpid === deferred.evpid)!;
    assertEquals(
      { attempts: after.attempts, nextTry: after.nextTry },
      { attempts: deferred.attempts, nextTry: deferred.nextTry },
    );
    // Resuming what was never paused moves nothing either.
    await smtpctlOk(conf, ["resume", "mta"]);
    await smtpctlOk(conf, ["resume", "mda"]);
    const last = (await listed(conf)).find((e) => e.evpid === deferred.evpid)!;
    assertEquals(last.attempts, deferred.attempts);
    assertEquals(last.nextTry, deferred.nextTry);
  } finally {
    daemon.child.kill("SIGTERM");
    await daemon.exited();
    await Deno.remove(dir, { recursive: true });
  }
});
