// RecipientBatcher: recipients join the open batch of their key until it is taken, each
// gets its own result back, and a failure before the take is every recipient's.

import { assertEquals } from "../../test/assert.ts";
import { permfail, tempfail } from "../mail/mod.ts";
import { RecipientBatcher } from "./batch.ts";

Deno.test("RecipientBatcher gathers recipients until the batch is taken", async () => {
  const batcher = new RecipientBatcher();
  let release!: () => void;
  const ready = new Promise<void>((resolve) => (release = resolve));
  const taken: (readonly string[])[] = [];
  const run = async (take: () => readonly string[]) => {
    await ready;
    const rcpts = take();
    taken.push([...rcpts]);
    return rcpts.map((r) => (r.startsWith("bad") ? permfail(`550 ${r}`) : { kind: "ok" as const }));
  };
  const first = batcher.submit("m1", "a@x.test", run);
  const second = batcher.submit("m1", "bad@x.test", run);
  const elsewhere = batcher.submit("m2", "c@y.test", run);
  release();
  assertEquals(await first, { kind: "ok" });
  assertEquals(await second, permfail("550 bad@x.test"));
  assertEquals(await elsewhere, { kind: "ok" });
  // After the take, a newcomer starts a batch of its own.
  const later = await batcher.submit("m1", "d@x.test", run);
  assertEquals(later, { kind: "ok" });
  assertEquals(taken, [["a@x.test", "bad@x.test"], ["c@y.test"], ["d@x.test"]]);
});

Deno.test("RecipientBatcher gives a failure before the take to every recipient", async () => {
  const batcher = new RecipientBatcher();
  let release!: () => void;
  const ready = new Promise<void>((resolve) => (release = resolve));
  const run = async () => {
    await ready;
    return tempfail("4.4.1 no host answered");
  };
  const results = [batcher.submit("m", "a@x.test", run), batcher.submit("m", "b@x.test", run)];
  release();
  assertEquals(await Promise.all(results), [
    tempfail("4.4.1 no host answered"),
    tempfail("4.4.1 no host answered"),
  ]);
});
