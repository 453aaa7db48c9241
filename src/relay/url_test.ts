import { assertEquals, assertThrows } from "../../test/assert.ts";
import { parseRelayUrl } from "./url.ts";

Deno.test("parseRelayUrl() reads smtpd.conf relay URLs and their defaults", () => {
  assertEquals(parseRelayUrl("mx.example.org"), {
    protocol: "smtp",
    tls: "opportunistic",
    host: "mx.example.org",
    port: 25,
  });
  assertEquals(parseRelayUrl("smtp+tls://label@mail.example.org:587"), {
    protocol: "smtp",
    tls: "starttls",
    host: "mail.example.org",
    port: 587,
    label: "label",
  });
  assertEquals(parseRelayUrl("smtps://[::1]").port, 465);
  assertEquals(parseRelayUrl("smtps://[::1]").host, "::1");
  assertEquals(parseRelayUrl("smtp+notls://127.0.0.1:2525").tls, "none");
  assertThrows(() => parseRelayUrl("lmtp://127.0.0.1"), Error, "A port is required");
  assertThrows(() => parseRelayUrl("gopher://x"), Error, "Unknown relay protocol");
});
