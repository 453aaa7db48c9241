import { assertEquals } from "../../test/assert.ts";
import { parseRelayTarget } from "./relay_url.ts";

Deno.test("parseRelayTarget() reads every scheme of smtpd.conf(5) with its default port", () => {
  const read = (url: string) => {
    const t = parseRelayTarget(url);
    return typeof t === "string" ? t : [t.protocol, t.security, t.host, t.port];
  };
  assertEquals(read("mx.example.org"), ["smtp", "opportunistic", "mx.example.org", 25]);
  assertEquals(read("smtp://mx.example.org"), ["smtp", "opportunistic", "mx.example.org", 25]);
  assertEquals(read("smtp+tls://mx.example.org:587"), ["smtp", "starttls", "mx.example.org", 587]);
  assertEquals(read("smtp+notls://10.0.0.1"), ["smtp", "none", "10.0.0.1", 25]);
  assertEquals(read("smtps://[2001:db8::1]"), ["smtp", "smtps", "2001:db8::1", 465]);
  assertEquals(read("lmtp://127.0.0.1:24"), ["lmtp", "none", "127.0.0.1", 24]);
  assertEquals(read("tls://relay.test"), ["smtp", "starttls", "relay.test", 25]);
  assertEquals(read("ssl://relay.test"), ["smtp", "smtps", "relay.test", 465]);
  assertEquals(read("secure://relay.test:2465"), ["smtp", "smtps", "relay.test", 2465]);
});

Deno.test("parseRelayTarget() keeps the label, the text and a unix socket path", () => {
  assertEquals(parseRelayTarget("smtps://me@[::1]:4650"), {
    url: "smtps://me@[::1]:4650",
    protocol: "smtp",
    security: "smtps",
    label: "me",
    host: "::1",
    port: 4650,
  });
  const socket = parseRelayTarget("lmtp:///run/dovecot/lmtp");
  assertEquals(typeof socket === "string" ? socket : socket.socket, "/run/dovecot/lmtp");
  assertEquals(
    parseRelayTarget("lmtp://x"),
    'An lmtp relay URL needs a port or a socket path: "lmtp://x"',
  );
  assertEquals(
    parseRelayTarget("smtp://a b"),
    'Bad relay URL "smtp://a b": expected [proto://][label@]host[:port]',
  );
});
