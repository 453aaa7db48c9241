// The offline file: what dropOffline() writes parses back to the same submission and the
// same bytes; anything else is refused with the reason, a misspelt field included.

import { assertEquals, assertThrows } from "../../test/assert.ts";
import { dropOffline, encodeOfflineFile, parseOfflineFile } from "./offline_file.ts";

const INPUT = new Uint8Array([0x53, 0x3a, 0x20, 0xe9, 0x0a, 0x0a, 0x00, 0xff, 0x0d, 0x0a, 0x0a]);

Deno.test("dropOffline() writes a whole 0640 file under its final name that parses back byte for byte", async () => {
  const dir = await Deno.makeTempDir();
  const submission = {
    recipients: ["a@example.test"],
    sender: "",
    extractRecipients: true,
    ignoreDots: false,
    notify: ["NEVER"],
  };
  const name = await dropOffline(dir, { submission, input: INPUT });
  assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), [name]);
  assertEquals(((await Deno.stat(`${dir}/${name}`)).mode ?? 0) & 0o777, 0o640);
  const parsed = parseOfflineFile(await Deno.readFile(`${dir}/${name}`));
  assertEquals(parsed.submission, submission);
  assertEquals([...parsed.input], [...INPUT]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("parseOfflineFile() refuses another format, a broken line and an unknown field", () => {
  const text = (s: string) => new TextEncoder().encode(s);
  assertThrows(() => parseOfflineFile(text("From: x\n\nbody\n")), Error, "does not start with");
  assertThrows(() => parseOfflineFile(text("smtpd-offline 1\n{")), Error, "not ended");
  assertThrows(() => parseOfflineFile(text("smtpd-offline 1\n{x\n")), Error, "not JSON");
  const misspelt = { recipients: [], extractRecipients: false, ignoreDots: false, sendr: "x" };
  assertThrows(
    () => parseOfflineFile(text(`smtpd-offline 1\n${JSON.stringify(misspelt)}\n`)),
    Error,
    'unknown submission field "sendr"',
  );
  const wrong = encodeOfflineFile(
    { recipients: "a" as unknown as string[], extractRecipients: false, ignoreDots: false },
    INPUT,
  );
  assertThrows(() => parseOfflineFile(wrong), Error, '"recipients" must be a list');
});
