import { assertEquals, assertMatch, assertTrue } from "../../test/assert.ts";
import { deliverToMaildir, isAlreadyDelivered, toLf } from "./maildir.ts";

const CONTENT = new TextEncoder().encode("Subject: hi\r\n\r\nline 1\r\nline 2\r\n");

Deno.test("deliverToMaildir() writes into new/ with Return-Path, Delivered-To and LF ends", async () => {
  const dir = await Deno.makeTempDir();
  const path = await deliverToMaildir(`${dir}/Maildir`, CONTENT, {
    returnPath: "a@client.test",
    deliveredTo: "u@example.test",
    evpid: "0123456789abcdef",
  });
  assertMatch(path, /\/Maildir\/new\/\d+\.M\d+P\d+Q0123456789abcdef\.[^/]+$/);
  assertEquals(
    await Deno.readTextFile(path),
    "Return-Path: <a@client.test>\nDelivered-To: u@example.test\nSubject: hi\n\nline 1\nline 2\n",
  );
  assertEquals([...Deno.readDirSync(`${dir}/Maildir/tmp`)].length, 0);
  assertTrue(Deno.statSync(`${dir}/Maildir/cur`).isDirectory);
  assertEquals(await isAlreadyDelivered(`${dir}/Maildir`, "0123456789abcdef"), true);
  assertEquals(await isAlreadyDelivered(`${dir}/Maildir`, "fedcba9876543210"), false);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("deliverToMaildir() gives 1000 parallel deliveries 1000 distinct files", async () => {
  const dir = await Deno.makeTempDir();
  await Promise.all(
    Array.from({ length: 1000 }, (_, n) =>
      deliverToMaildir(dir, CONTENT, {
        returnPath: "",
        deliveredTo: "u@example.test",
        evpid: n.toString(16).padStart(16, "0"),
      })),
  );
  assertEquals([...Deno.readDirSync(`${dir}/new`)].length, 1000);
  await Deno.remove(dir, { recursive: true });
});

for (const blocking of [false, true]) {
  Deno.test(
    `a Maildir removed after a delivery is made again by the next one (${
      blocking ? "blocking calls, as the mailbox writer makes them" : "calls in threads"
    })`,
    async () => {
      const dir = await Deno.makeTempDir();
      const maildir = `${dir}/Maildir`;
      const delivery = { returnPath: "a@client.test", deliveredTo: "u@example.test" };
      await deliverToMaildir(maildir, CONTENT, { ...delivery, evpid: "1111111111111111" }, {
        blocking,
      });
      await Deno.remove(maildir, { recursive: true });
      const path = await deliverToMaildir(maildir, CONTENT, {
        ...delivery,
        evpid: "2222222222222222",
      }, { blocking });
      assertEquals([...Deno.readDirSync(`${maildir}/new`)].map((e) => `${maildir}/new/${e.name}`), [
        path,
      ]);
      assertTrue(Deno.statSync(`${maildir}/cur`).isDirectory);
      // Only new/ gone (a client that moved and pruned it): the message still gets there.
      await Deno.remove(`${maildir}/new`, { recursive: true });
      const again = await deliverToMaildir(maildir, CONTENT, {
        ...delivery,
        evpid: "3333333333333333",
      }, { blocking });
      assertEquals((await Deno.readTextFile(again)).split("\n")[1], "Delivered-To: u@example.test");
      assertEquals([...Deno.readDirSync(`${maildir}/tmp`)].length, 0);
      await Deno.remove(dir, { recursive: true });
    },
  );
}

Deno.test("toLf() turns each CR LF into LF and leaves lone CRs and LFs, as a plain replace would", () => {
  const latin1 = (bytes: Uint8Array) => String.fromCharCode(...bytes);
  const cases = [
    "",
    "no line end",
    "a\r\nb\r\n",
    "\r\n\r\n",
    "\r\r\n\n\r",
    "lone\rcr\nlone lf\r",
    "\r\n.\r\n",
  ].map((text) => new TextEncoder().encode(text));
  // And random bytes drawn mostly from CR, LF and one letter: every neighbouring pair.
  let seed = 7;
  for (let n = 0; n < 300; n++) {
    cases.push(new Uint8Array(n % 40).map(() => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return [0x0d, 0x0a, 0x61, 0x0d][seed % 4]!;
    }));
  }
  for (const bytes of cases) {
    assertEquals(
      latin1(toLf(bytes)),
      latin1(bytes).replaceAll("\r\n", "\n"),
      JSON.stringify(latin1(bytes)),
    );
  }
});
