// `listen on socket tag T no-dsn`: mail sendmail hands to the daemon (or writes into the
// queue itself) is seen by the rules with the socket's tag, and its DSN requests dropped.

import { assertEquals } from "../assert.ts";
import {
  OWN_IDS,
  readMaildir,
  runCli,
  spawnLoggedDaemon,
  waitFor,
  waitForLocalSocket,
} from "../_helpers.ts";
import { smtpctlJson, smtpctlOk } from "./_smtpctl.ts";

async function sendmail(conf: string, args: string[]): Promise<number> {
  return (await runCli(["sendmail", "-C", conf, ...args], "Subject: local\n\nx\n")).code;
}

Deno.test("listen on socket tag and no-dsn apply to what sendmail submits", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.chmod(dir, 0o755);
  const user =
    `virtual { "@example.test" = "vmail" } userbase { vmail = "${OWN_IDS}:/nonexistent" }`;
  const conf = `${dir}/smtpd.conf`;
  await Deno.writeTextFile(
    conf,
    `queue path "${dir}/queue"
listen on socket tag LOCAL no-dsn
action "tagged" maildir "${dir}/tagged" ${user}
action "plain" maildir "${dir}/plain" ${user}
match from local tag LOCAL for domain "example.test" action "tagged"
match from local for domain "example.test" action "plain"
`,
  );
  // No daemon: sendmail writes the queue itself, deciding with the socket's tag too.
  assertEquals(await sendmail(conf, ["-N", "success", "first@example.test"]), 0);
  const daemon = spawnLoggedDaemon(conf);
  try {
    await waitForLocalSocket(`${dir}/queue`);
    await waitFor("the first message delivered", async () => {
      const files = await readMaildir(`${dir}/tagged`).catch(() => []);
      return files.length === 1 || undefined;
    }, 60_000);
    await smtpctlOk(conf, ["pause", "mda"]);
    assertEquals(await sendmail(conf, ["-N", "success", "-V", "id1", "second@example.test"]), 0);
    const listed = await waitFor("the second envelope queued", async () => {
      const { envelopes } = await smtpctlJson<{ envelopes: Record<string, unknown>[] }>(conf, [
        "show",
        "queue",
      ]);
      return envelopes.find((e) => e["rcpt"] === "second@example.test");
    }, 60_000);
    assertEquals([listed["action"], listed["dsnNotify"]], ["tagged", undefined]);
    await smtpctlOk(conf, ["resume", "mda"]);
    await waitFor("the second message delivered", async () => {
      const files = await readMaildir(`${dir}/tagged`).catch(() => []);
      return files.length === 2 || undefined;
    }, 60_000);
    assertEquals(await readMaildir(`${dir}/plain`).catch(() => []), []);
  } finally {
    daemon.child.kill("SIGTERM");
    await daemon.exited();
    await Deno.remove(dir, { recursive: true });
  }
});
