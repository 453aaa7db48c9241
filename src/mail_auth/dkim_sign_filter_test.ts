// Which mail a dkim-sign filter signs: its From: address's domain, read past display
// names in quotes and comments that look like addresses.

import { generateKeyPairSync } from "node:crypto";
import { assertEquals } from "../../test/assert.ts";
import { SILENT_LOGGER } from "../log/mod.ts";
import { dkimSignFilter } from "./filters.ts";

const filter = dkimSignFilter({
  name: "sign",
  domain: "example.org",
  selector: "s1",
  key: { algorithm: "ed25519-sha256", key: generateKeyPairSync("ed25519").privateKey },
  log: SILENT_LOGGER,
});

async function signed(from: string): Promise<boolean> {
  const link = filter.open({ id: "0123456789abcdef", src: "127.0.0.1", fcrdns: false, rcptTo: [] });
  const out = await link.dataLines!([`From: ${from}`, "Subject: s", "", "body"]);
  return out.some((l) => l.toLowerCase().startsWith("dkim-signature:"));
}

Deno.test("dkim-sign signs by the From: address, not by what its display name or a comment says", async () => {
  const cases: [string, boolean][] = [
    ["alice@example.org", true],
    ["Alice <alice@mail.example.org>", true],
    ['"Support <help@other.net>" <alice@example.org>', true],
    ["(alice@example.org) mallory@other.net", false],
    ['"alice@example.org" <mallory@other.net>', false],
    ["Mallory <mallory@other.net> (for alice@example.org)", false],
    ['"a \\" <x@other.net>" <alice@example.org>', true],
  ];
  for (const [from, expected] of cases) assertEquals(await signed(from), expected, from);
});
