// DKIM signing (RFC 6376 §5, RFC 8463): relaxed/relaxed, rsa-sha256 or ed25519-sha256,
// over a message held as lines of octets; the result is the DKIM-Signature field to prepend.

import { Buffer } from "node:buffer";
import { createHash, sign } from "node:crypto";
import { type HeaderField, relaxedBody, relaxedHeader, splitMessage } from "./dkim_canon.ts";
import type { DkimKey } from "./dkim_key.ts";

/**
 * The fields signed when present (RFC 6376 §5.4.1's list, in its spirit): those a
 * reader sees and those that say how to read the body.
 */
export const DKIM_SIGNED_HEADERS: readonly string[] = [
  "From",
  "Reply-To",
  "Subject",
  "Date",
  "Message-ID",
  "To",
  "Cc",
  "MIME-Version",
  "Content-Type",
  "Content-Transfer-Encoding",
  "In-Reply-To",
  "References",
  "Sender",
  "List-Id",
  "List-Unsubscribe",
  "List-Unsubscribe-Post",
];

/**
 * Fields signed once more than they occur (RFC 6376 §8.15): a second From: added on the
 * way would break the signature instead of being shown to the reader.
 */
export const DKIM_OVERSIGNED_HEADERS: readonly string[] = ["From"];

/** Options of {@link signDkim}. */
export interface DkimSignOptions {
  /** `d=`: the signing domain. */
  readonly domain: string;
  /** `s=`: the selector. */
  readonly selector: string;
  readonly key: DkimKey;
  /** The fields to sign (default {@link DKIM_SIGNED_HEADERS}). */
  readonly headers?: readonly string[];
  /** Fields signed once more than present (default {@link DKIM_OVERSIGNED_HEADERS}). */
  readonly oversign?: readonly string[];
  /** `t=`: when the signature was made (default now). */
  readonly time?: Date;
}

/**
 * Signs the message: returns the DKIM-Signature field's lines (folded, without line
 * ends), to put in front of the message's lines.
 *
 * @example
 * ```ts
 * import { generateKeyPairSync } from "node:crypto";
 * import { signDkim } from "./dkim_sign.ts";
 * const { privateKey } = generateKeyPairSync("ed25519");
 * const field = signDkim(["From: a@example.org", "", "Hi"], {
 *   domain: "example.org",
 *   selector: "s1",
 *   key: { algorithm: "ed25519-sha256", key: privateKey },
 * });
 * if (!field[0]!.startsWith("DKIM-Signature: v=1; a=ed25519-sha256;")) throw new Error();
 * ```
 */
export function signDkim(lines: readonly string[], options: DkimSignOptions): string[] {
  const { headers, bodyStart } = splitMessage(lines);
  const bodyHash = createHash("sha256");
  for (const piece of relaxedBody(lines, bodyStart)) bodyHash.update(piece, "latin1");
  const signed = chooseFields(headers, options.headers ?? DKIM_SIGNED_HEADERS, options);
  const time = Math.floor((options.time ?? new Date()).getTime() / 1000);
  const tags = [
    "v=1",
    `a=${options.key.algorithm}`,
    "c=relaxed/relaxed",
    `d=${options.domain}`,
    `s=${options.selector}`,
    `t=${time}`,
    `h=${signed.names.join(":")}`,
    `bh=${bodyHash.digest("base64")}`,
  ];
  // §3.7: the signed fields in order, then this field with an empty b=, without its CRLF.
  const data = signed.fields.map(relaxedHeader).join("") +
    relaxedHeader(fieldOf(`DKIM-Signature: ${tags.join("; ")}; b=`)).slice(0, -2);
  const signature = options.key.algorithm === "rsa-sha256"
    ? sign("sha256", Buffer.from(data, "latin1"), options.key.key)
    // RFC 8463 §3: Ed25519 signs the SHA-256 hash of the data (PureEdDSA over the hash).
    : sign(null, createHash("sha256").update(data, "latin1").digest(), options.key.key);
  return foldSignature(tags, signature.toString("base64"));
}

// The fields to hash, bottom-up for repeated names (§5.4.2), and the h= list, which
// names an oversigned field once more than it occurs (the extra one hashes as nothing).
function chooseFields(
  headers: readonly HeaderField[],
  wanted: readonly string[],
  options: DkimSignOptions,
): { fields: HeaderField[]; names: string[] } {
  const oversign = new Set((options.oversign ?? DKIM_OVERSIGNED_HEADERS).map(lower));
  const fields: HeaderField[] = [];
  const names: string[] = [];
  for (const name of new Set(wanted.map(lower))) {
    const present = headers.filter((h) => h.key === name).reverse();
    fields.push(...present);
    const count = present.length + (oversign.has(name) ? 1 : 0);
    for (let i = 0; i < count; i++) names.push(name);
  }
  return { fields, names };
}

function lower(name: string): string {
  return name.toLowerCase();
}

function fieldOf(line: string): HeaderField {
  const name = line.slice(0, line.indexOf(":"));
  return { name, key: name.toLowerCase(), lines: [line] };
}

// Folded at the "; " between tags (relaxed canonicalization reads a fold as that space)
// and inside b=, whose whitespace a verifier ignores (§3.5).
function foldSignature(tags: readonly string[], b64: string): string[] {
  const out: string[] = [];
  let line = "DKIM-Signature:";
  for (const tag of [...tags.map((t) => `${t};`), "b="]) {
    if (line.length + tag.length + 1 > 76) {
      out.push(line);
      line = "\t" + tag;
    } else line += " " + tag;
  }
  for (let i = 0; i < b64.length;) {
    const room = Math.max(76 - line.length, 8);
    line += b64.slice(i, i + room);
    i += room;
    if (i < b64.length) {
      out.push(line);
      line = "\t";
    }
  }
  out.push(line);
  return out;
}
