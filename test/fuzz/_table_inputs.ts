// The inputs of the table fuzzers: words and syntax pieces of each format, generators of
// text from them, and byte mutations (flips, inserts, deletes, repeats, truncation).

import type { Random } from "./_harness.ts";

/** Pieces the generators draw from. */
export const WORDS = [
  "root",
  "gilles",
  "example.org",
  "*.example.org",
  "*",
  "@example.net",
  "user+tag@example.com",
  "192.0.2.1",
  "192.0.2.0/24",
  "10.0.0.0/8",
  "::1",
  "[2001:db8::1]",
  "2001:db8::/32",
  "0.0.0.0/0",
  "bob:$2b$08$abcdefghijklmnopqrstuv",
  "1000:1000:/home/u",
  "smtp+tls://relay.example.org:587",
  "a, b, c",
  '"quoted, value"',
  "é",
  "\u{1f600}",
  "",
];

/** Pieces the generators draw from. */
export const REGEX_PIECES = [
  "^",
  "$",
  ".",
  "*",
  "+",
  "?",
  "(",
  ")",
  "[",
  "]",
  "{",
  "}",
  "{2,3}",
  "|",
  "\\",
  "\\d",
  "\\w+",
  "\\1",
  "(?i)",
  "(?:",
  "(?<n>",
  "(?=",
  "[a-z]",
  "[z-a]",
  "[^@]",
  "@",
  "example\\.org",
  "\\u{1F600}",
  "\\p{L}",
  "a",
  "bob",
];

/** Pieces the generators draw from. */
export const FILE_PIECES = [" ", "  ", "\t", ":", ",", ", ", "#", "# @list", "\\", "\n", "\r\n"];

/** Pieces the generators draw from. */
export const YAML_PIECES = [
  "- ",
  ": ",
  "? ",
  "&a ",
  "*a",
  "*zz",
  "!tag ",
  "!!str ",
  "!!int ",
  "!!binary ",
  "[",
  "]",
  "{",
  "}",
  ", ",
  "'",
  '"',
  "|",
  ">-",
  "---",
  "...",
  "#",
  "%YAML 1.2\n",
  "%TAG ! tag:x:\n",
  "\t",
  "\n",
  "  ",
  "    ",
  "~",
  "null",
  "true",
  "0x1F",
  "1e400",
  "-.inf",
  "<<: *a",
  "\\u0000",
];

const SQL_KEYS = [
  "dbpath",
  "query_alias",
  "query_domain",
  "query_credentials",
  "query_netaddr",
  "query_userinfo",
  "query_source",
  "query_mailaddr",
  "query_mailaddrmap",
  "query_addrname",
  "fetch_source",
  "query_relayhost",
  "nonsense",
];

const SQL_QUERIES = [
  "SELECT value FROM entries WHERE key = ?",
  "SELECT key FROM entries WHERE key = ? LIMIT 1",
  "SELECT key, value FROM entries WHERE lkey = ?",
  "SELECT 1",
  "SELECT ?1, ?2",
  "SELECT x FROM nope WHERE y = ?",
  "DELETE FROM entries WHERE key = ?",
  "PRAGMA user_version",
  "SELECT value FROM entries WHERE key = ?; DROP TABLE entries",
  "SELECT",
  "",
];

// Text from pieces and words, as a line-based table might hold.
export function randomText(
  random: Random,
  pieces: readonly string[],
  words: readonly string[],
  max: number,
): string {
  let text = "";
  const n = random.int(max);
  for (let i = 0; i < n; i++) {
    const r = random.next();
    if (r < 0.45) text += random.pick(words);
    else if (r < 0.9) text += random.pick(pieces);
    else text += String.fromCharCode(random.int(0x80));
  }
  return text;
}

export function regexText(random: Random): string {
  let text = "";
  const n = 1 + random.int(8);
  for (let i = 0; i < n; i++) text += random.pick(REGEX_PIECES);
  return text;
}

export function yamlText(random: Random, words: readonly string[]): string {
  const r = random.next();
  if (r < 0.05) return random.pick(["[", "{", "- [", "? "]).repeat(random.int(20_000));
  if (r < 0.1) return "- ".repeat(random.int(12_000)) + "x";
  if (r < 0.4) {
    // A well-formed skeleton: a list or a map of scalars and lists.
    const list = random.chance(0.5);
    const lines: string[] = [];
    for (let i = random.int(12); i > 0; i--) {
      const value = random.chance(0.2)
        ? `[${random.pick(words)}, ${random.pick(words)}]`
        : random.pick(words);
      lines.push(list ? `- ${value}` : `${random.pick(words)}${i}: ${value}`);
    }
    return lines.join("\n") + "\n";
  }
  return randomText(random, YAML_PIECES, words, 60);
}

export function sqliteConfigText(random: Random, dir: string): string {
  const lines: string[] = [];
  if (random.chance(0.85)) {
    lines.push(
      `dbpath ${random.pick([`${dir}/valid.db`, "valid.db", "case.db", "/nonexistent"])}`,
    );
  }
  for (let i = random.int(6); i > 0; i--) {
    const key = random.pick(SQL_KEYS);
    const query = random.chance(0.8)
      ? random.pick(SQL_QUERIES)
      : randomText(random, [" ", "?", ";", "'"], ["SELECT", "FROM", "entries", "key"], 8);
    lines.push(random.chance(0.1) ? `# ${key} ${query}` : `${key} ${query}`);
    if (random.chance(0.1)) lines.push("");
  }
  return lines.join(random.chance(0.1) ? "\r\n" : "\n") + "\n";
}

export function maybeMutate(random: Random, bytes: Uint8Array): Uint8Array {
  return random.chance(0.4) ? mutateBytes(random, bytes, 1 + random.int(4)) : bytes;
}

/** Flips, inserts, deletes, repeats or truncates bytes. */
export function mutateBytes(
  random: Random,
  input: Uint8Array,
  rounds: number,
): Uint8Array<ArrayBuffer> {
  let bytes: Uint8Array<ArrayBuffer> = Uint8Array.from(input);
  const special = [0x00, 0x0a, 0x0d, 0x5c, 0x23, 0x3a, 0x22, 0x27, 0xff, 0xc3, 0xe2, 0x80];
  for (let r = 0; r < rounds; r++) {
    const at = bytes.length === 0 ? 0 : random.int(bytes.length);
    switch (random.int(6)) {
      case 0:
        if (bytes.length) bytes[at] = bytes[at]! ^ (1 << random.int(8));
        break;
      case 1:
        if (bytes.length) bytes[at] = random.pick(special);
        break;
      case 2: {
        const insert = random.chance(0.5)
          ? random.bytes(1 + random.int(8))
          : [random.pick(special)];
        bytes = concat(bytes.subarray(0, at), Uint8Array.from(insert), bytes.subarray(at));
        break;
      }
      case 3:
        bytes = concat(bytes.subarray(0, at), bytes.subarray(at + 1 + random.int(16)));
        break;
      case 4: {
        const slice = bytes.subarray(at, at + 1 + random.int(64));
        bytes = concat(bytes.subarray(0, at), slice, slice, bytes.subarray(at));
        break;
      }
      default:
        bytes = bytes.subarray(0, at);
    }
  }
  return bytes;
}

function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
