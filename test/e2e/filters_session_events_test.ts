// A proc-exec filter on the phases and report events around the message: the starttls and
// auth filter phases of smtpd-filters(7) (asked before the command runs, refused with the
// filter's reply), the link-tls and link-auth reports, and the timeout report.

import { assertEquals, assertMatch, assertStringIncludes, assertTrue } from "../assert.ts";
import { SmtpTestClient, waitFor } from "../_helpers.ts";
import { testCertificate } from "../_certificate.ts";
import { hashPassword } from "../../src/auth/mod.ts";
import { fixtureFilterCommand, scratchDir, startFilterFixture } from "./_filters.ts";

const certificate = await testCertificate();
if (!certificate) console.log("skipping the starttls and auth filter tests: openssl is missing");

async function sessionFixture(head = "", tls: "tls" | "smtps" = "tls") {
  const dir = await scratchDir();
  const events = `${dir}/events`;
  const command = await fixtureFilterCommand(dir, "session_filter.py", events);
  await Deno.writeTextFile(`${dir}/cert.pem`, certificate!.cert);
  await Deno.writeTextFile(`${dir}/key.pem`, certificate!.key);
  const fx = await startFilterFixture({
    dir,
    head: `${head}
pki mx.example.test cert "${dir}/cert.pem"
pki mx.example.test key "${dir}/key.pem"
table creds { joe = "${hashPassword("right")}" }
filter "s" proc-exec "${command}"`,
    listen: `${tls} pki mx.example.test auth-optional <creds> filter "s"`,
  });
  const lines = () => Deno.readTextFile(events).then((t) => t.trim().split("\n"));
  return { fx, lines };
}

async function greeted(port: number, helo: string): Promise<SmtpTestClient> {
  const client = await SmtpTestClient.connect(port);
  await client.expect("220 ");
  await client.send(`EHLO ${helo}`);
  await client.expect("250 ");
  return client;
}

async function secured(port: number, helo: string): Promise<SmtpTestClient> {
  const client = await greeted(port, helo);
  await client.send("STARTTLS");
  await client.expect("220 ");
  await client.startTls({ hostname: "mx.example.test", caCerts: [certificate!.ca] });
  await client.send(`EHLO ${helo}`);
  await client.expect("250 ");
  return client;
}

Deno.test({
  name:
    "a proc-exec filter's starttls phase refuses STARTTLS to one client; link-tls reports another's TLS",
  ignore: !certificate,
  async fn() {
    const { fx, lines } = await sessionFixture();
    await using _ = fx;
    {
      await using refused = await greeted(fx.port, "notls.test");
      await refused.send("STARTTLS");
      assertEquals(await refused.reply(), "454 4.7.0 TLS not for you");
      // The command did not run: the session is still in plain text and goes on.
      await refused.send("MAIL FROM:<a@client.test>");
      await refused.expect("250 ");
      await refused.send("QUIT");
      await refused.expect("221 ");
    }
    await using client = await secured(fx.port, "ok.test");
    await client.send("QUIT");
    await client.expect("221 ");
    const seen = await waitFor("two link-disconnect reports", async () => {
      const all = await lines();
      return all.filter((l) => l === "link-disconnect").length === 2 ? all : undefined;
    });
    assertEquals(seen.filter((l) => l === "query|starttls|").length, 2, seen.join("\n"));
    const tls = seen.filter((l) => l.startsWith("link-tls|"));
    assertEquals(tls.length, 1, seen.join("\n"));
    assertMatch(tls[0]!, /^link-tls\|TLSv1\.[23]:[A-Z0-9_-]+:\d+$/);
  },
});

Deno.test({
  name: "an SMTPS session's TLS is reported to its filter right after link-connect",
  ignore: !certificate,
  async fn() {
    const { fx, lines } = await sessionFixture("", "smtps");
    await using _ = fx;
    await using client = await SmtpTestClient.connectTls(fx.port, {
      hostname: "mx.example.test",
      caCerts: [certificate!.ca],
    });
    await client.expect("220 ");
    await client.send("QUIT");
    await client.expect("221 ");
    const seen = await waitFor("link-disconnect reported", async () => {
      const all = await lines();
      return all.includes("link-disconnect") ? all : undefined;
    });
    assertEquals(seen.length, 2, seen.join("\n"));
    assertMatch(seen[0]!, /^link-tls\|TLSv1\.[23]:[A-Z0-9_-]+:\d+$/);
  },
});

Deno.test({
  name:
    "a proc-exec filter's auth phase refuses AUTH to one client; link-auth reports pass and fail with the user",
  ignore: !certificate,
  async fn() {
    const { fx, lines } = await sessionFixture();
    await using _ = fx;
    {
      await using refused = await secured(fx.port, "noauth.test");
      await refused.send(`AUTH PLAIN ${btoa("\0joe\0right")}`);
      assertEquals(await refused.reply(), "535 5.7.8 AUTH not for you");
      // Refused by the filter, the credentials were never checked.
      await refused.send("QUIT");
      await refused.expect("221 ");
    }
    {
      await using wrong = await secured(fx.port, "ok.test");
      await wrong.send(`AUTH PLAIN ${btoa("\0joe\0wrong")}`);
      await wrong.expect("535 ");
      await wrong.send("QUIT");
      await wrong.expect("221 ");
    }
    await using client = await secured(fx.port, "ok.test");
    await client.send(`AUTH PLAIN ${btoa("\0joe\0right")}`);
    await client.expect("235 ");
    await client.send("QUIT");
    await client.expect("221 ");
    const seen = await waitFor("three link-disconnect reports", async () => {
      const all = await lines();
      return all.filter((l) => l === "link-disconnect").length === 3 ? all : undefined;
    });
    assertEquals(seen.filter((l) => l.startsWith("query|auth|PLAIN ")).length, 3, seen.join("\n"));
    assertEquals(seen.filter((l) => l.startsWith("link-auth|")), [
      "link-auth|fail|joe",
      "link-auth|pass|joe",
    ]);
  },
});

Deno.test({
  name: "an idle session's timeout is reported to its filter before the session ends",
  ignore: !certificate,
  async fn() {
    const { fx, lines } = await sessionFixture("smtp timeout 1s");
    await using _ = fx;
    await using client = await greeted(fx.port, "idle.test");
    assertStringIncludes(await client.reply(), "421 ");
    assertTrue(await client.closedByServer());
    const seen = await waitFor("link-disconnect reported", async () => {
      const all = await lines();
      return all.includes("link-disconnect") ? all : undefined;
    });
    assertEquals(seen, ["link-identify|EHLO|idle.test", "timeout", "link-disconnect"]);
  },
});
