import { assertEquals } from "../../test/assert.ts";
import { helloReply } from "./hello.ts";

const OFFER = {
  hostname: "mx.example.test",
  client: "client.test",
  src: "192.0.2.1",
  esmtp: true,
  maxMessageSize: 1000,
  dsn: true,
  startTls: false,
  auth: false,
};

Deno.test("helloReply() answers HELO with one greeting line", () => {
  assertEquals(helloReply({ ...OFFER, esmtp: false }), {
    code: 250,
    text: "mx.example.test Hello client.test [192.0.2.1], pleased to meet you",
  });
});

Deno.test("helloReply() lists EHLO's extensions in order", () => {
  assertEquals(helloReply(OFFER).text.split("\n"), [
    "mx.example.test Hello client.test [192.0.2.1], pleased to meet you",
    "8BITMIME",
    "ENHANCEDSTATUSCODES",
    "SIZE 1000",
    "PIPELINING",
    "DSN",
    "SMTPUTF8",
    "CHUNKING",
    "HELP",
  ]);
});

Deno.test("helloReply() offers DSN, STARTTLS and AUTH only when they are on offer", () => {
  const lines = (offer: Partial<typeof OFFER>) =>
    helloReply({ ...OFFER, ...offer }).text.split("\n");
  assertEquals(lines({ dsn: false }).includes("DSN"), false);
  assertEquals(lines({ startTls: true }).at(-2), "STARTTLS");
  assertEquals(lines({ auth: true }).at(-2), "AUTH PLAIN LOGIN");
  assertEquals(lines({ startTls: true, auth: true }).slice(-3), [
    "STARTTLS",
    "AUTH PLAIN LOGIN",
    "HELP",
  ]);
});
