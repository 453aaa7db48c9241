// The front's ~/.forward questions to the parent: the recipients of one message that are
// the same user share one question, and the answer is kept for FORWARD_KEPT_MS (as long
// as a daemon without a parent keeps the file's), so a user's next messages ask nothing;
// after that, or after a question that failed, the parent is asked again.

import { assertEquals, assertRejects } from "../../test/assert.ts";
import { FORWARD_KEPT_MS } from "../delivery/mod.ts";
import { sharedAndKept } from "./front_agents.ts";

const ALICE = { name: "alice", uid: 1001, gid: 1001, home: "/home/alice" };
const BOB = { name: "bob", uid: 1002, gid: 1002, home: "/home/bob" };

Deno.test("sharedAndKept() asks once per user while the answer is kept, and again after", async () => {
  let clock = 1_000_000;
  const asked: string[] = [];
  let failing = false;
  const read = sharedAndKept((user) => {
    asked.push(user.name);
    if (failing) return Promise.reject(new Error("the parent is gone"));
    return Promise.resolve(user.name === "alice" ? ["alice@elsewhere.test"] : undefined);
  }, () => clock);

  // Three recipients of one message, two of them alice: two questions.
  const answers = await Promise.all([read(ALICE), read(ALICE), read(BOB)]);
  assertEquals(answers, [["alice@elsewhere.test"], ["alice@elsewhere.test"], undefined]);
  assertEquals(asked, ["alice", "bob"]);
  // Each gets a copy of its own.
  answers[0]!.push("changed");
  assertEquals(await read(ALICE), ["alice@elsewhere.test"]);

  // Within the time kept, nothing is asked; at its end, the parent is asked again.
  clock += FORWARD_KEPT_MS - 1;
  await read(ALICE);
  await read(BOB);
  assertEquals(asked, ["alice", "bob"]);
  clock += 1;
  await read(ALICE);
  assertEquals(asked, ["alice", "bob", "alice"]);

  // A question that fails is not kept.
  clock += FORWARD_KEPT_MS;
  failing = true;
  await assertRejects(() => read(BOB), Error, "the parent is gone");
  failing = false;
  assertEquals(await read(BOB), undefined);
  assertEquals(asked, ["alice", "bob", "alice", "bob", "bob"]);
});
