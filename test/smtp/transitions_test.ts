// The session's state machine as an operator sees it with -v: one debug line per
// transition, in the order the conversation makes them.

import { createLogger } from "../../src/log/mod.ts";
import { assertEquals } from "../assert.ts";
import { startDialogueServer } from "./_server.ts";

function recordingLog() {
  const lines: string[] = [];
  const log = createLogger({ verbose: true, sink: (line) => lines.push(line) });
  const transitions = () =>
    lines.flatMap((line) => /session [0-9a-f]+ state (\S+ -> \S+)$/.exec(line)?.[1] ?? []);
  return { log, transitions };
}

Deno.test("every state transition of a DATA session is logged once, in order", async () => {
  const { log, transitions } = recordingLog();
  await using server = await startDialogueServer({ log });
  await using client = await server.greeted();
  await client.send("MAIL FROM:<a@example.test>");
  await client.expect("250 ");
  await client.send("RCPT TO:<b@example.test>");
  await client.expect("250 ");
  await client.send("RCPT TO:<c@example.test>");
  await client.expect("250 ");
  await client.send("DATA");
  await client.expect("354 ");
  await client.send("Subject: x\r\n\r\nhi\r\n.");
  await client.expect("250 ");
  await client.send("QUIT");
  await client.expect("221 ");
  assertEquals(transitions(), [
    "greeting -> ready",
    "ready -> mail",
    "mail -> rcpt",
    "rcpt -> data",
    "data -> ready",
    "ready -> closing",
  ]);
});

Deno.test("BDAT chunks and RSET log their transitions; a refused command logs none", async () => {
  const { log, transitions } = recordingLog();
  await using server = await startDialogueServer({ log });
  await using client = await server.greeted();
  await client.send("RCPT TO:<b@example.test>");
  await client.expect("503 ");
  await client.send("MAIL FROM:<a@example.test> XFOO=1");
  await client.expect("555 ");
  await client.send("MAIL FROM:<a@example.test>");
  await client.expect("250 ");
  await client.send("RCPT TO:<b@example.test>");
  await client.expect("250 ");
  await client.sendRaw("BDAT 4\r\n\r\nab");
  await client.expect("250 ");
  await client.sendRaw("BDAT 0 LAST\r\n");
  await client.expect("250 ");
  await client.send("MAIL FROM:<a@example.test>");
  await client.expect("250 ");
  await client.send("RSET");
  await client.expect("250 ");
  await client.send("QUIT");
  await client.expect("221 ");
  assertEquals(transitions(), [
    "greeting -> ready",
    "ready -> mail",
    "mail -> rcpt",
    "rcpt -> bdat",
    "bdat -> rcpt",
    "rcpt -> bdat",
    "bdat -> ready",
    "ready -> mail",
    "mail -> ready",
    "ready -> closing",
  ]);
});
