// Where the separated front's log lines go. In the foreground with text lines the front
// writes to the parent's standard error itself (privsep_test.ts); with `log format json`
// the parent reads them from a pipe and writes each as a JSON object, as its own lines.
// Skipped, with the reason printed, when not root or without setpriv.

import { assertEquals, assertTrue } from "../assert.ts";
import {
  freePort,
  SmtpTestClient,
  spawnLoggedDaemon,
  waitFor,
  waitListening,
} from "../_helpers.ts";
import { ensureFrontUser, frontOf, openOn, skipReason } from "./_privsep.ts";

Deno.test("separated, with log format json, the front's lines come out as the parent's JSON objects", async () => {
  const skip = skipReason() ?? await ensureFrontUser();
  if (skip) {
    console.log(`skipped: privsep log format test: ${skip}`);
    return;
  }
  const dir = await Deno.makeTempDir({ prefix: "smtpd-privsep-log-" });
  await Deno.chmod(dir, 0o755);
  const port = freePort();
  await Deno.writeTextFile(
    `${dir}/smtpd.conf`,
    `queue path "${dir}/queue"
log format json
listen on 127.0.0.1 port ${port}
action "local" maildir "${dir}/mail"
match from any for domain "example.test" action "local"
`,
  );
  const daemon = spawnLoggedDaemon(`${dir}/smtpd.conf`, {}, { separated: true });
  try {
    await waitListening(port, 60_000);
    const front = await waitFor("the SMTP front", () => frontOf(daemon.child.pid));
    // The front's standard error is a pipe the parent reads, not the parent's own.
    const frontErr = await openOn(front, 2);
    assertTrue(frontErr.startsWith("pipe:"), frontErr);
    assertTrue(frontErr !== await openOn(daemon.child.pid, 2), "a pipe of its own");
    {
      await using client = await SmtpTestClient.connect(port);
      await client.expect("220 ");
      await client.send("EHLO client.test");
      await client.expect("250 ");
      await client.send("QUIT");
      await client.expect("221 ");
    }
    // The session's events are the front's: they reach the log through the parent.
    const objects = () =>
      daemon.log().split("\n").filter((line) => line !== "").map((line) => {
        try {
          return JSON.parse(line) as Record<string, unknown>;
        } catch {
          throw new Error(`a line that is not JSON: ${line}`);
        }
      });
    const closed = await waitFor(
      "the session's disconnect event",
      () => objects().find((o) => o["event"] === "disconnected") ?? undefined,
    );
    assertEquals([closed["subsystem"], closed["level"]], ["smtp", "info"]);
  } finally {
    daemon.child.kill("SIGTERM");
    await daemon.exited();
    await Deno.remove(dir, { recursive: true });
  }
  // Every line, the front's and the parent's, is one JSON object.
  for (const line of daemon.log().split("\n").filter((l) => l !== "")) JSON.parse(line);
});
