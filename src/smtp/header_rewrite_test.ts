import { assertEquals, assertTrue } from "../../test/assert.ts";
import { rewriteHeader } from "./header_rewrite.ts";

const bytes = (text: string) => Uint8Array.from(text, (c) => c.charCodeAt(0));
const text = (content: Uint8Array) => String.fromCharCode(...content);

Deno.test("rewriteHeader() gives back the same array when nothing needs a change", () => {
  const content = bytes(
    "To: a@b.test\r\nCc: c@d.test,\r\n e@f.test\r\nSubject: s\r\n\r\nBcc: x\r\n",
  );
  assertTrue(rewriteHeader(content) === content);
});

Deno.test("rewriteHeader() drops every Bcc: field, with its continuation lines", () => {
  const content = bytes(
    "Bcc: a@b.test\r\nSubject: s\r\nBCC : c@d.test,\r\n\te@f.test\r\nTo: g@h.test\r\n\r\nbody\xff\r\n",
  );
  assertEquals(text(rewriteHeader(content)), "Subject: s\r\nTo: g@h.test\r\n\r\nbody\xff\r\n");
});
