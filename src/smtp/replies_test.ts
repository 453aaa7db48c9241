// What every reply line looks like on the wire, whatever text it echoes.

import { assertEquals } from "../../test/assert.ts";
import { formatReply } from "./replies.ts";

Deno.test("formatReply() turns 8-bit and control characters of echoed text into ?", () => {
  assertEquals(
    formatReply({ code: 250, text: "mx Hello caf\u00e9\u0000\ufffd.test [127.0.0.1]" }),
    "250 mx Hello caf???.test [127.0.0.1]\r\n",
  );
  assertEquals(formatReply({ code: 250, text: "a\tb" }), "250 a\tb\r\n");
});

Deno.test("formatReply() cuts a line to 512 octets with its CRLF", () => {
  const wire = formatReply({ code: 550, enhanced: "5.1.1", text: "x".repeat(600) + "\nend" });
  const [first, second] = wire.split("\r\n");
  assertEquals(first!.length, 510);
  assertEquals(first!.startsWith("550-5.1.1 xxx"), true);
  assertEquals(second, "550 5.1.1 end");
});
