// The one delivery result: where a reply code stops being worth another try, and what the
// constructors and errorMessage give back.

import { assertEquals } from "../../test/assert.ts";
import { DELIVERED, errorMessage, failureFromReply, permfail, tempfail } from "./mod.ts";

Deno.test("failureFromReply() makes 5yz permanent and every other code temporary", () => {
  const cases: [number, "tempfail" | "permfail"][] = [
    [399, "tempfail"],
    [400, "tempfail"],
    [499, "tempfail"],
    [500, "permfail"],
    [599, "permfail"],
    [600, "tempfail"],
  ];
  for (const [code, kind] of cases) {
    const reason = `${code} reply text`;
    assertEquals(failureFromReply(code, reason), { kind, reason }, `code ${code}`);
  }
});

Deno.test("tempfail() and permfail() carry the reason as given; DELIVERED is ok", () => {
  assertEquals(tempfail("4.2.2 mailbox full"), { kind: "tempfail", reason: "4.2.2 mailbox full" });
  assertEquals(permfail("5.1.1 no such user"), { kind: "permfail", reason: "5.1.1 no such user" });
  assertEquals(DELIVERED, { kind: "ok" });
});

Deno.test("errorMessage() gives an Error's message and any other value as text", () => {
  assertEquals(errorMessage(new Deno.errors.NotFound("no such file")), "no such file");
  assertEquals(errorMessage("boom"), "boom");
  assertEquals(errorMessage(42), "42");
  assertEquals(errorMessage(undefined), "undefined");
});
