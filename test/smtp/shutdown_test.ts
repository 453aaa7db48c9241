// A listener that closes while sessions are open: what each client is told. A message whose
// commit is under way gets the commit's answer before the 421, never a 421 over it (RFC
// 5321 §4.2.5: a 421 there means "not accepted", and the client would send it again).

import { assertEquals, assertMatch } from "../assert.ts";
import { startDialogueServer } from "./_server.ts";

Deno.test("close() without grace gives a message whose commit is under way its 250, then 421", async () => {
  const release = Promise.withResolvers<void>();
  await using server = await startDialogueServer({ submitGate: release.promise });
  await using idle = await server.greeted();
  await using client = await server.greeted();
  await client.startData("me@client.test", ["alice@example.test"]);
  await client.sendRaw("Subject: committing\r\n\r\nbody\r\n.\r\n");
  await server.committing;

  const closing = server.close({ graceMs: 0 });
  // The idle session is told at once, while the commit is still running.
  await idle.expect("421 4.3.2 ");
  release.resolve();
  assertMatch(await client.expect("250 "), /^250 2\.0\.0 \S+ Message accepted/);
  await client.expect("421 4.3.2 ");
  await closing;
  assertEquals(server.submitted.length, 1);
});

Deno.test("close() without grace gives a message whose commit fails its 451, then 421", async () => {
  const release = Promise.withResolvers<void>();
  await using server = await startDialogueServer({
    submitGate: release.promise,
    failSubmit: true,
  });
  await using client = await server.greeted();
  await client.startData("me@client.test", ["alice@example.test"]);
  await client.sendRaw("Subject: committing\r\n\r\nbody\r\n.\r\n");
  await server.committing;

  const closing = server.close({ graceMs: 0 });
  release.resolve();
  await client.expect("451 ");
  await client.expect("421 4.3.2 ");
  await closing;
  assertEquals(server.submitted.length, 0);
});

Deno.test("close() without grace does not commit a message whose end arrives after it", async () => {
  await using server = await startDialogueServer();
  await using client = await server.greeted();
  await client.startData("me@client.test", ["alice@example.test"]);
  await client.sendRaw("Subject: too late\r\n\r\nfirst half\r\n");

  await server.close({ graceMs: 0 });
  await client.expect("421 4.3.2 ");
  await client.sendRaw("second half\r\n.\r\n").catch(() => {});
  assertEquals(await client.closedByServer(), true);
  assertEquals(server.submitted.length, 0);
});
