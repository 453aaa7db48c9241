import { assertEquals } from "../../test/assert.ts";
import { isParsableHeader } from "./header_syntax.ts";

const bytes = (text: string) => Uint8Array.from(text, (c) => c.charCodeAt(0));

Deno.test("isParsableHeader() takes fields, their continuations, then an empty line or the end", () => {
  const parsable = [
    "",
    "\r\nonly a body: after the empty line\r\n",
    "\nbare LF ends lines too\n",
    "Subject: s\r\n\tfolded\r\n folded\r\nTo: x\r\n\r\nno colon in the body\r\n",
    "To: a\r\nSubject: no empty line and no body\r\n",
    "Subject: no line end",
    ": an empty name is a name\r\nX Y: blanks in one too\r\n\r\n",
    "Subject: \xff\x80 8-bit\r\n\r\n",
  ];
  for (const text of parsable) assertEquals(isParsableHeader(bytes(text)), true, text);
});

Deno.test("isParsableHeader() refuses a line that is neither a field nor a continuation", () => {
  const refused = [
    "hello world\r\n",
    "Note: a field\r\nthen body text\r\n",
    "Subject: s\r\nX-Broken no colon\r\nBcc: hidden@x.test\r\n\r\nbody\r\n",
    " a continuation of nothing\r\n\r\n",
    "Subject: s\r\n\rX\r\n",
    "Subject: s\r\nlast line without colon",
  ];
  for (const text of refused) assertEquals(isParsableHeader(bytes(text)), false, text);
});
