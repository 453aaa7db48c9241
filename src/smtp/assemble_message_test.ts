import { assertEquals, assertMatch } from "../../test/assert.ts";
import { assembleMessage, type MessageOrigin } from "./assemble_message.ts";
import { Transaction } from "./transaction.ts";

const encoder = new TextEncoder();
const text = (bytes: Uint8Array) => new TextDecoder("latin1").decode(bytes);

function transaction(sender: string, content: string): Transaction {
  const tx = new Transaction(sender, { params: new Map(), maxSize: 1 << 20 });
  tx.recipients.push("rcpt@example.test");
  tx.envelopes.push({ rcpt: "rcpt@example.test", action: "local" });
  tx.write(encoder.encode(content));
  return tx;
}

const ORIGIN: MessageOrigin = {
  facts: { src: "192.0.2.1", local: false, socket: false, tls: false, helo: "client.test" },
  hostname: "mx.example.test",
  msgid: "0123abcd",
  date: new Date(Date.UTC(2026, 0, 2, 3, 4, 5)),
  esmtp: true,
};

Deno.test("assembleMessage() puts Received: before the content as sent", () => {
  const message = assembleMessage(
    transaction("a@example.test", "Subject: x\r\n\r\nhi\r\n"),
    ORIGIN,
  );
  assertEquals(
    text(message.content),
    "Received: from client.test (<unknown> [192.0.2.1])\r\n" +
      "\tby mx.example.test (OpenSMTPD) with ESMTP id 0123abcd\r\n" +
      "\tfor <rcpt@example.test>;\r\n" +
      "\tFri, 2 Jan 2026 03:04:05 +0000 (UTC)\r\n" +
      "Subject: x\r\n\r\nhi\r\n",
  );
  assertEquals(message.msgid, "0123abcd");
  assertEquals(message.sender, "a@example.test");
  assertEquals(message.helo, "client.test");
  assertEquals(message.src, "192.0.2.1");
  assertEquals(message.envelopes, [{ rcpt: "rcpt@example.test", action: "local" }]);
});

Deno.test("assembleMessage() names TLS and AUTH in the protocol, the user with received-auth", () => {
  const origin: MessageOrigin = {
    ...ORIGIN,
    facts: { ...ORIGIN.facts, tls: true, authUser: "joe" },
    tls: "TLSv1.3:TLS_AES_256_GCM_SHA384:256:NO",
    receivedAuth: true,
  };
  const received = text(assembleMessage(transaction("a@example.test", "\r\n"), origin).content);
  assertMatch(received, /with ESMTPSA id 0123abcd\r\n/);
  assertMatch(received, /\t\(TLSv1\.3:TLS_AES_256_GCM_SHA384:256:NO\) auth=yes user=joe\r\n/);
  const utf8 = transaction("jörg@example.test", "\r\n");
  utf8.smtputf8 = true;
  assertMatch(text(assembleMessage(utf8, origin).content), /with UTF8SMTPSA id 0123abcd\r\n/);
});

Deno.test("assembleMessage() masquerades From: only for an authenticated sender", () => {
  const content = "From: Joe <joe@elsewhere.test>\r\n\r\nhi\r\n";
  const masquerade = { ...ORIGIN, masquerade: true };
  const anonymous = text(
    assembleMessage(transaction("a@example.test", content), masquerade).content,
  );
  assertMatch(anonymous, /\r\nFrom: Joe <joe@elsewhere\.test>\r\n/);
  const authenticated = { ...masquerade, facts: { ...ORIGIN.facts, authUser: "joe" } };
  const shown = text(
    assembleMessage(transaction("a@example.test", content), authenticated).content,
  );
  assertMatch(shown, /\r\nFrom: Joe <a@example\.test>\r\n/);
});

Deno.test("assembleMessage() leaves the client out with mask-src and carries DSN and SMTPUTF8", () => {
  const tx = transaction("a@example.test", "\r\n");
  tx.dsn = { ret: "HDRS", envid: "id1" };
  tx.smtputf8 = true;
  const message = assembleMessage(tx, { ...ORIGIN, maskSource: true });
  assertMatch(text(message.content), /^Received: by mx\.example\.test \(OpenSMTPD\)/);
  assertEquals([message.dsnRet, message.dsnEnvid, message.smtputf8], ["HDRS", "id1", true]);
});
