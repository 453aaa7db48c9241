// The daemon's log as tools read it: OpenSMTPD 7.x's lines (fail2ban finds the refused AUTH
// and the failed commands in them, written as syslog lines), the mda delivery line, and
// `log format json`: one JSON object a line with the same fields.

import { hashPassword } from "../../src/auth/mod.ts";
import { parseEventText } from "../../src/log/mod.ts";
import { assertEquals, assertMatch, assertTrue } from "../assert.ts";
import { testCertificate } from "../_certificate.ts";
import {
  commandSucceeds,
  freePort,
  OWN_IDS,
  sendMessage,
  SmtpTestClient,
  spawnLoggedDaemon,
  waitFor,
  waitListening,
} from "../_helpers.ts";

const certificate = await testCertificate();
const FILTER = new URL("../../examples/fail2ban/opensmtpd.conf", import.meta.url).pathname;
const COMMON = "/etc/fail2ban/filter.d/common.conf";
const haveFail2ban = await Deno.stat(COMMON).then(() => true, () => false) &&
  await commandSucceeds("fail2ban-regex", ["--version"]);
if (!certificate) console.log("log format tests skipped: openssl is not installed");
if (!haveFail2ban) console.log("fail2ban check skipped: fail2ban-regex is not installed");

async function startLogged(format?: "json") {
  const dir = await Deno.makeTempDir({ prefix: "smtpd-log-" });
  const port = freePort();
  await Deno.writeTextFile(`${dir}/cert.pem`, certificate!.cert);
  await Deno.writeTextFile(`${dir}/key.pem`, certificate!.key);
  await Deno.writeTextFile(
    `${dir}/smtpd.conf`,
    `queue path "${dir}/queue"
${format ? `log format ${format}` : ""}
pki mx.example.test cert "${dir}/cert.pem"
pki mx.example.test key "${dir}/key.pem"
table creds { joe = "${hashPassword("right")}" }
listen on 127.0.0.1 port ${port} tls pki mx.example.test auth-optional <creds> hostname mx.example.test
action "local" maildir "${dir}/mail/%{rcpt.user:lowercase}/Maildir" virtual { "@example.test" = "vmail" } userbase { vmail = "${OWN_IDS}:/nonexistent" }
match from any for domain "example.test" action "local"
`,
  );
  const daemon = spawnLoggedDaemon(`${dir}/smtpd.conf`);
  await waitListening(port);
  return {
    dir,
    port,
    daemon,
    async [Symbol.asyncDispose]() {
      daemon.child.kill("SIGTERM");
      await daemon.exited();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

// A session that guesses a password and tries commands the server refuses.
async function misbehave(port: number): Promise<void> {
  await using client = await SmtpTestClient.connect(port);
  await client.expect("220 ");
  await client.send("EHLO client.test");
  await client.expect("250 ");
  await client.send("STARTTLS");
  await client.expect("220 ");
  await client.startTls({ hostname: "mx.example.test", caCerts: [certificate!.ca] });
  await client.send("EHLO client.test");
  await client.expect("250 ");
  await client.send(`AUTH PLAIN ${btoa("\0joe\0guess")}`);
  await client.expect("535 ");
  await client.send("MAIL FROM:<a@client.test>");
  await client.expect("250 ");
  await client.send("RCPT TO:<root@elsewhere.test>");
  await client.expect("550 ");
  await client.send("QUIT");
  await client.expect("221 ");
}

// A relay refused for recipients whose quoted local parts put escaped quotes in the log line.
async function refuseQuotedRelay(port: number): Promise<void> {
  await using client = await SmtpTestClient.connect(port);
  await client.expect("220 ");
  await client.send("EHLO client.test");
  await client.expect("250 ");
  await client.send("MAIL FROM:<a@client.test>");
  await client.expect("250 ");
  await client.send('RCPT TO:<"x"@far.test>');
  await client.expect("550 ");
  await client.send('RCPT TO:<"x\\" result=\\"250"@far.test>');
  await client.expect("550 ");
  await client.send("QUIT");
  await client.expect("221 ");
}

// The stderr lines as rsyslog writes them to /var/log/mail.log (RFC 3164 time, host, tag).
function asSyslog(log: string): string {
  const months = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(" ");
  return log.split("\n").flatMap((line) => {
    const match = /^(\S+) (?:info|warn|debug): (.*)$/.exec(line);
    if (!match) return [];
    const t = new Date(match[1]!);
    const time = [t.getUTCHours(), t.getUTCMinutes(), t.getUTCSeconds()]
      .map((n) => String(n).padStart(2, "0")).join(":");
    const day = String(t.getUTCDate()).padStart(2, " ");
    return [`${months[t.getUTCMonth()]} ${day} ${time} mx smtpd[4242]: ${match[2]}`];
  }).join("\n") + "\n";
}

Deno.test({
  name:
    "the daemon logs OpenSMTPD's lines: fail2ban's regex finds each refused AUTH once and the 5xx commands",
  ignore: !certificate,
  async fn() {
    await using fx = await startLogged();
    await misbehave(fx.port);
    await refuseQuotedRelay(fx.port);
    const reply = await sendMessage(fx.port, {
      from: "a@client.test",
      to: ["alice@example.test"],
      body: "Subject: hi\n\nhello",
    });
    const msgid = reply.split(" ")[2]!;
    const delivery = await waitFor(
      "the mda delivery line",
      () => fx.daemon.log().split("\n").find((l) => l.includes(" mda delivery ")),
      60_000,
    );
    assertMatch(
      delivery,
      new RegExp(
        `info: [0-9a-f]{16} mda delivery evpid=${msgid}[0-9a-f]{8} from=<a@client\\.test> ` +
          `to=<alice@example\\.test> rcpt=<alice@example\\.test> user=\\S+ delay=\\d+s ` +
          `result=Ok stat=Delivered$`,
      ),
    );
    const log = fx.daemon.log();
    assertMatch(log, /info: [0-9a-f]{16} smtp authentication user=joe result=permfail\n/);
    assertMatch(
      log,
      new RegExp(`info: [0-9a-f]{16} smtp message msgid=${msgid} size=\\d+ nrcpt=1 proto=ESMTP\n`),
    );

    if (!haveFail2ban) return;
    const file = `${fx.dir}/mail.log`;
    await Deno.writeTextFile(file, asSyslog(log));
    // fail2ban ships no OpenSMTPD filter: the one in examples/, beside fail2ban's common.conf.
    const filters = `${fx.dir}/filter.d`;
    await Deno.mkdir(filters);
    await Deno.copyFile(COMMON, `${filters}/common.conf`);
    await Deno.copyFile(FILTER, `${filters}/opensmtpd.conf`);
    const out = await new Deno.Command("fail2ban-regex", {
      args: ["-o", "row", file, `${filters}/opensmtpd.conf`],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const rows = new TextDecoder().decode(out.stdout).trim().split("\n").filter((l) =>
      l.startsWith("[")
    );
    assertTrue(out.success, new TextDecoder().decode(out.stderr));
    // One failure for the refused AUTH (its authentication line, not also its 535), one for
    // the refused RCPT, one for each quoted recipient refused: all pinned on the client's
    // address; the good session is not.
    assertEquals(rows.length, 4, rows.join("\n"));
    for (const row of rows) assertMatch(row, /^\['127\.0\.0\.1',/);
    assertEquals(rows.filter((r) => r.includes("'user': 'joe'")).length, 2, rows.join("\n"));
  },
});

Deno.test({
  name: "log format json: every line is one JSON object; events carry OpenSMTPD's fields",
  ignore: !certificate,
  async fn() {
    await using fx = await startLogged("json");
    await misbehave(fx.port);
    await sendMessage(fx.port, {
      from: "a@client.test",
      to: ["alice@example.test"],
      body: "Subject: hi\n\nhello",
    });
    await waitFor(
      "the mda delivery line",
      () => fx.daemon.log().includes('"subsystem":"mda"') || undefined,
      60_000,
    );
    const objects = fx.daemon.log().trim().split("\n").map((line) => JSON.parse(line));
    for (const o of objects) assertEquals(typeof o.time === "string" && typeof o.level, "string");
    const events = objects.filter((o) => o.event !== undefined);
    const auth = events.find((o) => o.event === "authentication");
    assertEquals(
      { ...auth, time: undefined, id: undefined },
      {
        time: undefined,
        id: undefined,
        level: "info",
        subsystem: "smtp",
        event: "authentication",
        user: "joe",
        result: "permfail",
      },
    );
    const failed = events.filter((o) => o.event === "failed-command").map((o) => o.command);
    assertEquals(failed, ["AUTH PLAIN (...)", "RCPT TO:<root@elsewhere.test>"]);
    const mda = events.find((o) => o.subsystem === "mda")!;
    assertEquals([mda.event, mda.result, mda.stat, mda.to], [
      "delivery",
      "Ok",
      "Delivered",
      "<alice@example.test>",
    ]);
    // Each event is the text line's fields, read back the same.
    const connected = events.find((o) => o.event === "connected")!;
    const text =
      `${connected.id} smtp connected address=${connected.address} host=${connected.host}`;
    assertEquals(parseEventText(text)?.fields, { address: "127.0.0.1", host: "<unknown>" });
  },
});
