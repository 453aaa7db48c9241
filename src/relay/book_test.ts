// The relay book's own rules: relays named as mta.c names them, a domain's status kept four
// hours, sessions counted until they close, and the text lines smtpctl prints.

import { assertEquals } from "../../test/assert.ts";
import { permfail } from "../mail/mod.ts";
import { formatHoststats, formatRoutes, hostText, RelayBook, relayName } from "./book.ts";

Deno.test("relayName() writes mta_relay_to_text's fields", () => {
  const route = { protocol: "smtp" as const, security: "opportunistic" as const };
  assertEquals(relayName({}, route, "example.org"), "[relay:example.org,smtp]");
  const host = {
    url: "smtp+tls://me@mx.example.net:587",
    protocol: "smtp" as const,
    security: "starttls" as const,
    label: "me",
    host: "mx.example.net",
    port: 587,
  };
  assertEquals(
    relayName(
      { host, auth: { name: "creds" } as never, pki: "out", helo: "a.example" },
      { protocol: "smtp", security: "starttls" },
      "example.org",
    ),
    "[relay:mx.example.net,port=587,smtp+tls,auth=creds:me,pki_name=out,mx,heloname=a.example]",
  );
  assertEquals(
    hostText({ address: "192.0.2.1", host: "mx.example.org" }),
    "192.0.2.1 (mx.example.org)",
  );
  assertEquals(hostText({ address: "192.0.2.1", host: "192.0.2.1" }), "192.0.2.1");
});

Deno.test("RelayBook keeps hoststats four hours and counts sessions until they close", async () => {
  let now = 1_700_000_000_000;
  const book = new RelayBook(() => now);
  const route = { relay: "[relay:b.test,smtp]", host: "mx.b.test", address: "192.0.2.9" };
  let close!: () => void;
  book.connected(route, new Promise<void>((resolve) => close = resolve));
  book.delivered(["x@B.test", "y@a.test"], [
    { kind: "ok", hop: { relay: "-", reply: "250 ok" } },
    permfail("550 no"),
  ]);
  assertEquals(formatHoststats(book.hoststats()), [
    "a.test|1700000000|550 no",
    "b.test|1700000000|250 ok",
  ]);
  assertEquals(formatRoutes(book.routes()), [
    "1. [] <-> 192.0.2.9 (mx.b.test) ---- nconn=1 nerror=0 penalty=0 timeout=-",
  ]);
  close();
  await Promise.resolve();
  await Promise.resolve();
  assertEquals(book.hosts().map((h) => h.nconn), [0]);
  now += 4 * 3600 * 1000 + 1000;
  assertEquals(book.hoststats(), []);
});
