import { assertEquals } from "../../test/assert.ts";
import { masqueradeFrom } from "./masquerade.ts";

const text = (bytes: Uint8Array) => new TextDecoder("latin1").decode(bytes);
const bytes = (s: string) => new TextEncoder().encode(s);

Deno.test("masqueradeFrom() puts the sender in From:, keeping the display name", () => {
  assertEquals(
    text(
      masqueradeFrom(
        bytes("Subject: x\r\nFrom: Alice <spoof@evil.test>\r\n\r\nFrom: body\r\n"),
        "alice@example.test",
      ),
    ),
    "Subject: x\r\nFrom: Alice <alice@example.test>\r\n\r\nFrom: body\r\n",
  );
});

Deno.test("masqueradeFrom() replaces a bare or folded From: and leaves a message without one", () => {
  assertEquals(
    text(
      masqueradeFrom(
        bytes("From:\r\n spoof@evil.test\r\nTo: b@x.test\r\n\r\nhi\r\n"),
        "a@example.test",
      ),
    ),
    "From: <a@example.test>\r\nTo: b@x.test\r\n\r\nhi\r\n",
  );
  const none = bytes("Subject: none\r\n\r\nhi\r\n");
  assertEquals(masqueradeFrom(none, "a@example.test"), none);
});
