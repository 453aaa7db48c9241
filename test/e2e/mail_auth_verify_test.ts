// Inbound checks (`filter NAME auth-verify …`): SPF, DKIM and DMARC results written to
// Authentication-Results from the test's own DNS, DMARC p=reject refused with 550 5.7.1
// when configured, and a DNS server that is down never turned into a rejection.

import { generateKeyPairSync } from "node:crypto";
import { assertEquals, assertMatch } from "../assert.ts";
import { dkimPublicRecord, signDkim } from "../../src/mail_auth/mod.ts";
import { type DnsZone, startDnsServer } from "../_dns_server.ts";
import { startDnssecServer } from "../_dnssec_server.ts";
import { sendRaw, startMailAuthFixture } from "./_mail_auth.ts";

const KEY = {
  algorithm: "ed25519-sha256" as const,
  key: generateKeyPairSync("ed25519").privateKey,
};

const ZONE: DnsZone = {
  "example.org": { TXT: ["v=spf1 ip4:127.0.0.1 -all"] },
  "_dmarc.example.org": { TXT: ["v=DMARC1; p=reject"] },
  "s1._domainkey.example.org": { TXT: [dkimPublicRecord(KEY)] },
  "elsewhere.test": { TXT: ["v=spf1 ip4:192.0.2.1 -all"] },
  "bank.test": { TXT: ["v=spf1 ip4:192.0.2.7 -all"] },
  "_dmarc.bank.test": { TXT: ["v=DMARC1; p=reject"] },
};

function message(from: string, subject: string): string[] {
  return [
    `From: <${from}>`,
    "To: <bob@example.test>",
    `Subject: ${subject}`,
    "Date: Tue, 1 Dec 2026 10:00:00 +0000",
    "Message-ID: <v@example.org>",
    "",
    "Hello",
  ];
}

async function withDaemon(
  options: string,
  fn: (fx: Awaited<ReturnType<typeof startMailAuthFixture>>) => Promise<void>,
  dns?: { port: number; timeoutMs: number },
  where: "listen" | "rule" = "listen",
) {
  const dir = await Deno.makeTempDir({ prefix: "smtpd-authres-" });
  const server = dns ? undefined : await startDnsServer(ZONE);
  try {
    await using fx = await startMailAuthFixture({
      dir,
      dnsPort: dns?.port ?? server!.port,
      ...(dns ? { dnsTimeoutMs: dns.timeoutMs } : {}),
      head: `admd "mx.example.test"\nfilter "check" auth-verify ${options}`,
      [where]: `filter "check"`,
    });
    await fn(fx);
  } finally {
    await server?.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

function field(text: string): string {
  return /^Authentication-Results: [^\n]*(?:\r?\n[ \t][^\n]*)*/m.exec(text)?.[0] ?? "";
}

Deno.test("auth-verify writes spf=pass, spf=fail and dkim=pass from the test's DNS", async () => {
  await withDaemon("", async (fx) => {
    const from = "alice@example.org";
    await sendRaw(fx.port, { from, to: "bob@example.test", lines: message(from, "spf pass") });
    const away = "x@elsewhere.test";
    await sendRaw(fx.port, {
      from: away,
      to: "bob@example.test",
      lines: message(away, "spf fail"),
    });
    const lines = message(from, "signed");
    const signed = [
      ...signDkim(lines, { domain: "example.org", selector: "s1", key: KEY }),
      ...lines,
    ];
    // A forged result claiming our authserv-id is removed (RFC 8601 §5).
    const forged = ["Authentication-Results: mx.example.test; dmarc=pass header.from=bank.test"];
    await sendRaw(fx.port, { from, to: "bob@example.test", lines: [...forged, ...signed] });
    const texts = await fx.delivered("bob", 3);
    const bySubject = (s: string) => field(texts.find((t) => t.includes(`Subject: ${s}`))!);
    assertMatch(bySubject("spf pass"), /^Authentication-Results: mx\.example\.test;/);
    assertMatch(bySubject("spf pass"), /spf=pass .*smtp\.mailfrom=alice@example\.org/);
    assertMatch(bySubject("spf pass"), /dmarc=pass /);
    assertMatch(bySubject("spf fail"), /spf=fail /);
    assertMatch(bySubject("signed"), /dkim=pass header\.i=@example\.org header\.s=s1/);
    const signedText = texts.find((t) => t.includes("Subject: signed"))!;
    assertEquals(signedText.includes("header.from=bank.test"), false);
  });
});

Deno.test("auth-verify removes forged results claiming its id however the field is written", async () => {
  // RFC 8601 §2.2: "Authentication-Results:" [CFWS] authserv-id; §5: such forgeries go.
  const forgeries: Record<string, string[]> = {
    folded: ["Authentication-Results:", " mx.example.test; dkim=pass header.d=bank.test"],
    comment: ["Authentication-Results: (trusted) mx.example.test; dkim=pass header.d=bank.test"],
    nested: [
      'Authentication-Results: (a (nested\\) one)) "MX.Example.Test";',
      "\tdkim=pass header.d=bank.test",
    ],
    "space colon": ["Authentication-Results : mx.example.test; dkim=pass header.d=bank.test"],
    upper: ["AUTHENTICATION-RESULTS:\t MX.EXAMPLE.TEST ; dkim=pass header.d=bank.test"],
  };
  await withDaemon("", async (fx) => {
    const from = "alice@example.org";
    for (const [subject, forged] of Object.entries(forgeries)) {
      const lines = [...forged, "X-Kept: yes", ...message(from, subject)];
      await sendRaw(fx.port, { from, to: "bob@example.test", lines });
    }
    const texts = await fx.delivered("bob", Object.keys(forgeries).length);
    for (const subject of Object.keys(forgeries)) {
      const text = texts.find((t) => new RegExp(`^Subject: ${subject}\r?$`, "m").test(t))!;
      assertEquals(text.includes("bank.test"), false, text);
      assertEquals(text.match(/^authentication-results/gim)?.length, 1, text);
      // Our field first, above the trace fields (after what the mailbox adds).
      const header = text.replace(/^(?:Return-Path|Delivered-To):.*\r?\n/gm, "");
      assertMatch(header, /^Authentication-Results: mx\.example\.test;\r?\n\s+dkim=none/);
      assertMatch(text, /\r?\nX-Kept: yes\r?\n/);
    }
  });
});

Deno.test("auth-verify marks a forged From: domain dmarc=fail and, told to, refuses it 550 5.7.1", async () => {
  const forged = message("ceo@bank.test", "forged");
  await withDaemon("", async (fx) => {
    const reply = await sendRaw(fx.port, {
      from: "mallory@example.org",
      to: "bob@example.test",
      lines: forged,
    });
    assertMatch(reply, /^250 /);
    const [text] = await fx.delivered("bob");
    assertMatch(field(text!), /dmarc=fail .*header\.from=bank\.test/);
  });
  await withDaemon("reject-dmarc", async (fx) => {
    const reply = await sendRaw(fx.port, {
      from: "mallory@example.org",
      to: "bob@example.test",
      lines: forged,
    });
    assertEquals(
      reply,
      "550 5.7.1 Delivery not authorized, message refused due to DMARC policy of bank.test",
    );
    // Sent in BDAT chunks, it is checked and refused alike.
    const chunked = await sendRaw(fx.port, {
      from: "mallory@example.org",
      to: "bob@example.test",
      lines: forged,
      bdat: true,
    });
    assertEquals(chunked, reply);
    // Aligned mail from a domain with the same policy still gets through.
    const good = message("alice@example.org", "aligned");
    const ok = await sendRaw(fx.port, {
      from: "alice@example.org",
      to: "bob@example.test",
      lines: good,
    });
    assertMatch(ok, /^250 /);
    const texts = await fx.delivered("bob");
    assertEquals(texts.length, 1);
    assertMatch(texts[0]!, /Subject: aligned/);
  });
});

Deno.test("auth-verify on a rule refuses that rule's mail under DMARC p=reject", async () => {
  const forged = message("ceo@bank.test", "forged");
  await withDaemon(
    "reject-dmarc",
    async (fx) => {
      const reply = await sendRaw(fx.port, {
        from: "mallory@example.org",
        to: "bob@example.test",
        lines: forged,
      });
      assertEquals(
        reply,
        "550 5.7.1 Delivery not authorized, message refused due to DMARC policy of bank.test",
      );
    },
    undefined,
    "rule",
  );
});

Deno.test("auth-verify with its DNS server down accepts with temperror or answers 451, never 550", async () => {
  const gone = await startDnsServer({});
  const port = gone.port;
  await gone.stop();
  const forged = message("ceo@bank.test", "dns down");
  const dns = { port, timeoutMs: 1500 };
  await withDaemon("reject-dmarc", async (fx) => {
    const reply = await sendRaw(fx.port, {
      from: "mallory@example.org",
      to: "bob@example.test",
      lines: forged,
    });
    assertMatch(reply, /^250 /);
    const [text] = await fx.delivered("bob");
    assertMatch(field(text!), /spf=temperror/);
  }, dns);
  await withDaemon("reject-dmarc on-temperror tempfail", async (fx) => {
    const reply = await sendRaw(fx.port, {
      from: "mallory@example.org",
      to: "bob@example.test",
      lines: forged,
    });
    assertEquals(
      reply,
      "451 4.7.0 Temporary failure checking SPF, DKIM and DMARC; try again later",
    );
  }, dns);
});

Deno.test("auth-verify answers 451 or accepts with temperror when DNS answers SERVFAIL, never 550", async () => {
  // sfspf.test publishes p=reject but its SPF zone is broken: that is worth another try.
  const dns = await startDnssecServer({
    "sfspf.test": { servfail: true },
    "_dmarc.sfspf.test": { TXT: ["v=DMARC1; p=reject"] },
  });
  const lines = message("a@sfspf.test", "servfail");
  try {
    await withDaemon("reject-dmarc on-temperror tempfail", async (fx) => {
      const reply = await sendRaw(fx.port, { from: "a@sfspf.test", to: "bob@example.test", lines });
      assertEquals(
        reply,
        "451 4.7.0 Temporary failure checking SPF, DKIM and DMARC; try again later",
      );
    }, { port: dns.port, timeoutMs: 5000 });
    await withDaemon("reject-dmarc", async (fx) => {
      const reply = await sendRaw(fx.port, { from: "a@sfspf.test", to: "bob@example.test", lines });
      assertMatch(reply, /^250 /);
      const [text] = await fx.delivered("bob");
      assertMatch(field(text!), /spf=temperror /);
    }, { port: dns.port, timeoutMs: 5000 });
  } finally {
    await dns.stop();
  }
});

Deno.test("auth-verify: a DNS failure of a domain not aligned with From: does not lift reject-dmarc", async () => {
  // The sender chooses its own domains: one that answers SERVFAIL, one that never answers,
  // a DKIM key that SERVFAILs. None is bank.test's, so DMARC fails all the same.
  const dns = await startDnssecServer({
    "bank.test": { TXT: ["v=spf1 ip4:192.0.2.7 -all"] },
    "_dmarc.bank.test": { TXT: ["v=DMARC1; p=reject"] },
    "attacker.test": { servfail: true },
    "slow.test": { silent: true },
    "example.org": { TXT: ["v=spf1 ip4:127.0.0.1 -all"] },
    "_dmarc.example.org": { TXT: ["v=DMARC1; p=reject"] },
    "s1._domainkey.foreign.test": { servfail: true },
  });
  const refused =
    "550 5.7.1 Delivery not authorized, message refused due to DMARC policy of bank.test";
  try {
    await withDaemon("reject-dmarc on-temperror tempfail", async (fx) => {
      const forged = message("ceo@bank.test", "forged");
      for (const from of ["mallory@attacker.test", "mallory@slow.test"]) {
        assertEquals(
          await sendRaw(fx.port, { from, to: "bob@example.test", lines: forged }),
          refused,
          from,
        );
      }
      const signed = [
        ...signDkim(forged, { domain: "foreign.test", selector: "s1", key: KEY }),
        ...forged,
      ];
      assertEquals(
        await sendRaw(fx.port, {
          from: "mallory@example.org",
          to: "bob@example.test",
          lines: signed,
        }),
        refused,
      );
      // Aligned SPF passes: a foreign signature whose key cannot be read asks no retry.
      const good = message("alice@example.org", "list");
      const listed = [
        ...signDkim(good, { domain: "foreign.test", selector: "s1", key: KEY }),
        ...good,
      ];
      assertMatch(
        await sendRaw(fx.port, {
          from: "alice@example.org",
          to: "bob@example.test",
          lines: listed,
        }),
        /^250 /,
      );
      const [text] = await fx.delivered("bob");
      assertMatch(field(text!), /dkim=temperror/);
      assertMatch(field(text!), /dmarc=pass/);
    }, { port: dns.port, timeoutMs: 1000 });
  } finally {
    await dns.stop();
  }
});

Deno.test("auth-verify with reject-dmarc refuses a p=reject author hidden beside another", async () => {
  const refusal =
    "550 5.7.1 Delivery not authorized, message refused due to DMARC policy of bank.test";
  const twoMailboxes = message("ceo@bank.test", "two mailboxes");
  twoMailboxes[0] = "From: <ceo@bank.test>, <a@nowhere.test>";
  const twoFields = message("ceo@bank.test", "two fields");
  twoFields.splice(1, 0, "From: <a@nowhere.test>");
  const noFrom = message("ceo@bank.test", "no from").slice(1);
  await withDaemon("reject-dmarc", async (fx) => {
    const send = (lines: string[]) =>
      sendRaw(fx.port, { from: "mallory@example.org", to: "bob@example.test", lines });
    assertEquals(await send(twoMailboxes), refusal);
    assertEquals(
      await send(twoFields),
      "550 5.7.1 Delivery not authorized, message refused: DMARC cannot check a message with 2 From: fields",
    );
    assertEquals(
      await send(noFrom),
      "550 5.7.1 Delivery not authorized, message refused: DMARC cannot check a message with no From: field",
    );
  });
  // Without reject-dmarc they are accepted, the results written down.
  await withDaemon("", async (fx) => {
    const reply = await sendRaw(fx.port, {
      from: "mallory@example.org",
      to: "bob@example.test",
      lines: twoFields,
    });
    assertMatch(reply, /^250 /);
    const [text] = await fx.delivered("bob");
    assertMatch(field(text!), /dmarc=permerror \(2 From: fields\)/);
  });
});

Deno.test("auth-verify with reject-dmarc accepts mail of a p=reject domain that set pct=0", async () => {
  const dns = await startDnsServer({
    "pct.test": { TXT: ["v=spf1 -all"] },
    "_dmarc.pct.test": { TXT: ["v=DMARC1; p=reject; pct=0"] },
  });
  try {
    await withDaemon("reject-dmarc", async (fx) => {
      const reply = await sendRaw(fx.port, {
        from: "a@pct.test",
        to: "bob@example.test",
        lines: message("a@pct.test", "pct0"),
      });
      assertMatch(reply, /^250 /);
      const [text] = await fx.delivered("bob");
      assertMatch(field(text!), /dmarc=fail .*policy\.dmarc=quarantine/);
    }, { port: dns.port, timeoutMs: 5000 });
  } finally {
    await dns.stop();
  }
});
