// Durability: the daemon runs as a child process, is killed with SIGKILL right after the
// last 250, restarted, and every accepted message must then be in the Maildir exactly once.

import { assertEquals } from "../assert.ts";
import { freePort, readMaildir, sendMessage, waitFor, waitListening } from "../_helpers.ts";
import { OWN_IDS } from "../_helpers.ts";

const CLI = new URL("../../cli.ts", import.meta.url).pathname;
const MESSAGES = 60;
const SESSIONS = 6;

function spawnDaemon(conf: string): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, "-d", "-u", "root", "-f", conf],
    stdout: "null",
    stderr: "piped",
  }).spawn();
}

Deno.test("no message that got a 250 is lost or duplicated across a SIGKILL", async () => {
  const dir = await Deno.makeTempDir({ prefix: "smtpd-crash-" });
  const port = freePort();
  const conf = `${dir}/smtpd.conf`;
  await Deno.writeTextFile(
    conf,
    `queue path "${dir}/queue"
listen on 127.0.0.1 port ${port}
action "local" maildir "${dir}/mail" virtual { "@example.test" = "vmail" } userbase { vmail = "${OWN_IDS}:/nonexistent" }
match from any for domain "example.test" action "local"
`,
  );

  const first = spawnDaemon(conf);
  await waitListening(port);
  const accepted: string[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: SESSIONS }, async () => {
    while (next < MESSAGES) {
      const n = next++;
      await sendMessage(port, {
        from: "a@client.test",
        to: ["u@example.test"],
        body: `Subject: crash ${n}\nMessage-ID: <crash-${n}@client.test>\n\nmessage ${n}\n`,
      });
      accepted.push(`crash-${n}`);
    }
  }));
  first.kill("SIGKILL");
  await first.status;
  await first.stderr.cancel();
  assertEquals(accepted.length, MESSAGES);

  const second = spawnDaemon(conf);
  try {
    await waitListening(port);
    const files = await waitFor("all messages delivered", async () => {
      const found = await readMaildir(`${dir}/mail`);
      return found.length >= MESSAGES ? found : undefined;
    }, 30_000);
    const ids = files.map((f) => /Message-ID: <(crash-\d+)@/.exec(f.text)?.[1] ?? "?");
    assertEquals(ids.sort(), [...accepted].sort());
  } finally {
    second.kill("SIGTERM");
    await second.status;
    await second.stderr.cancel();
    await Deno.remove(dir, { recursive: true });
  }
});
