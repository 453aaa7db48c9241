// The lines of an AUTH exchange (RFC 4954 §4): a response as long as the mechanism's
// longest is taken whatever the command line limit, and one longer still fails the AUTH
// command with 500 5.5.6, after which the session is out of the exchange.

import { assertEquals } from "../assert.ts";
import { testCertificate } from "../_certificate.ts";
import { startDialogueServer } from "./_server.ts";

const certificate = await testCertificate();
const ignore = !certificate;
if (ignore) console.log("AUTH line tests skipped: openssl is not installed (test certificate)");

// PLAIN's longest: a 255-octet authorization id, user name and password.
const USER = `${"u".repeat(242)}@example.test`;
const PASSWORD = "p".repeat(255);
const plain = (authzid: string) => btoa(`${authzid}\0${USER}\0${PASSWORD}`);

async function authServer() {
  return await startDialogueServer({
    tls: { mode: "starttls", certificates: [certificate!] },
    auth: {
      required: false,
      check: (user, password) => Promise.resolve({ ok: user === USER && password === PASSWORD }),
    },
  });
}

async function secured(server: Awaited<ReturnType<typeof authServer>>) {
  const client = await server.greeted();
  await client.send("STARTTLS");
  await client.expect("220 ");
  await client.startTls({ hostname: "mx.example.test", caCerts: [certificate!.ca] });
  await client.send("EHLO client.test");
  await client.expect("250 ");
  return client;
}

Deno.test({
  name: "AUTH PLAIN takes the mechanism's longest response, as an initial response and after 334",
  ignore,
  async fn() {
    await using server = await authServer();
    await using client = await secured(server);
    const response = plain(USER);
    assertEquals(response.length, 1024);
    await client.send(`AUTH PLAIN ${response}`);
    assertEquals(await client.reply(), "235 2.0.0 Authentication succeeded");
    await using again = await secured(server);
    await again.send("AUTH PLAIN");
    await again.expect("334");
    await again.send(response);
    assertEquals(await again.reply(), "235 2.0.0 Authentication succeeded");
  },
});

Deno.test({
  name: "a response longer than an AUTH line may be fails the AUTH command, and QUIT then quits",
  ignore,
  async fn() {
    await using server = await authServer();
    await using client = await secured(server);
    await client.send("AUTH LOGIN");
    await client.expect("334 ");
    await client.send("x".repeat(20_000));
    assertEquals(await client.reply(), "500 5.5.6 Authentication exchange line is too long");
    // Out of the exchange: the next line is a command again.
    await client.send("NOOP");
    await client.expect("250 ");
    await client.send("QUIT");
    await client.expect("221 ");
  },
});
