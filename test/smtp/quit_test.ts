// After QUIT the session is over (RFC 5321 §4.1.1.10): the 221, then the server closes the
// connection and reads nothing more, as OpenSMTPD does.

import { assertEquals, assertTrue } from "../assert.ts";
import type { Logger } from "../../src/log/mod.ts";
import { waitFor } from "../_helpers.ts";
import { startDialogueServer } from "./_server.ts";

Deno.test("after QUIT and its 221 the server closes: a client writing on is reset", async () => {
  const lines: string[] = [];
  const log: Logger = { info: (l) => lines.push(l), warn: (l) => lines.push(l), debug() {} };
  await using server = await startDialogueServer({ log });
  await using client = await server.greeted();
  await client.send("EHLO client.test");
  await client.expect("250 ");
  await client.send("QUIT");
  await client.expect("221 ");
  assertTrue(await client.closedByServer());
  const line = await waitFor(
    "the disconnected line",
    () => lines.find((l) => l.includes(" smtp disconnected ")),
  );
  assertEquals(line.split(" ").slice(1), ["smtp", "disconnected", "reason=quit"]);
  // A server still reading after its 221 would take these; a closed socket answers with a
  // reset, which the next write reports.
  const reset = await waitFor("a write to fail", async () => {
    try {
      await client.sendRaw("NOOP\r\n");
      return undefined;
    } catch (error) {
      return error;
    }
  }, 5_000);
  assertTrue(
    reset instanceof Deno.errors.BrokenPipe || reset instanceof Deno.errors.ConnectionReset,
    `the write failed with ${String(reset)}`,
  );
});
