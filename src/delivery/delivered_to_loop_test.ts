import { assertEquals } from "../../test/assert.ts";
import { deliveredToLoop } from "./delivered_to_loop.ts";

const message = (text: string) => new TextEncoder().encode(text.replace(/\n/g, "\r\n"));

Deno.test("deliveredToLoop() finds a Delivered-To: of the address, whatever its case", () => {
  const looped = message("Received: x\nDelivered-To: Bob@Example.TEST\nSubject: s\n\nbody\n");
  assertEquals(
    deliveredToLoop(looped, "bob@example.test"),
    "5.4.6 Loop detected: the message was delivered to <bob@example.test> already",
  );
  assertEquals(deliveredToLoop(looped, "alice@example.test"), undefined);
});

Deno.test("deliveredToLoop() reads the header only, up to its blank line", () => {
  const inBody = message("Subject: s\n\nDelivered-To: bob@example.test\n");
  assertEquals(deliveredToLoop(inBody, "bob@example.test"), undefined);
  const folded = message("Subject: a\n  folded line\nDelivered-To: bob@example.test\n\nx\n");
  assertEquals(deliveredToLoop(folded, "bob@example.test") !== undefined, true);
});
