// The "relaxed" canonicalizations of RFC 6376 §3.4.2 (header fields) and §3.4.4 (body),
// over a message held as lines of octets (one char per octet, no line ends).

const WSP_RUN_REGEXP = /[ \t]+/g;
const TRAILING_WSP_REGEXP = /[ \t]+$/;
// WSP is SP and HTAB only (RFC 5234 B.1): String#trim and \s would also take octets such
// as 0xA0 (the last of UTF-8's "à"), \v and \f, which are part of the value.
const EDGE_WSP_REGEXP = /^[ \t]+|[ \t]+$/g;

/** A header field as the message holds it: its name and its (possibly folded) lines. */
export interface HeaderField {
  /** The name as written. */
  readonly name: string;
  /** The lower-cased name, to compare with. */
  readonly key: string;
  /** The field's lines, the first one starting with the name. */
  readonly lines: readonly string[];
}

/** The message split at the first empty line (RFC 5322 §2.1). */
export interface SplitMessage {
  readonly headers: readonly HeaderField[];
  /** The index of the first body line in the message's lines (its length: no body). */
  readonly bodyStart: number;
}

/** Splits the header fields from the body; a line that is no field ends the header. */
export function splitMessage(lines: readonly string[]): SplitMessage {
  const headers: { name: string; key: string; lines: string[] }[] = [];
  let i = 0;
  for (; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === "") return { headers, bodyStart: i + 1 };
    const first = line.charCodeAt(0);
    if ((first === 0x20 || first === 0x09) && headers.length > 0) {
      headers[headers.length - 1]!.lines.push(line);
      continue;
    }
    const colon = line.indexOf(":");
    if (colon <= 0) break;
    const name = line.slice(0, colon).replace(TRAILING_WSP_REGEXP, "");
    headers.push({ name, key: name.toLowerCase(), lines: [line] });
  }
  return { headers, bodyStart: i };
}

/**
 * One header field in relaxed form, with its CRLF: name lower-cased, lines unfolded,
 * runs of WSP made one space, WSP at the end of the value and around the colon removed.
 */
export function relaxedHeader(field: HeaderField): string {
  const text = field.lines.join("");
  const colon = text.indexOf(":");
  const value = text.slice(colon + 1).replace(WSP_RUN_REGEXP, " ").replace(EDGE_WSP_REGEXP, "");
  return `${field.key}:${value}\r\n`;
}

/**
 * The body in relaxed form: WSP runs made one space, WSP at line ends removed, empty
 * lines at the end removed; a non-empty body ends with CRLF. Yields pieces to hash.
 */
export function* relaxedBody(lines: readonly string[], start: number): Generator<string> {
  let end = lines.length;
  // A message ending in CRLF arrives with a last empty line: it and any empty ones before go.
  while (end > start && lines[end - 1]!.replace(WSP_RUN_REGEXP, "") === "") end--;
  for (let i = start; i < end; i++) {
    yield lines[i]!.replace(WSP_RUN_REGEXP, " ").replace(TRAILING_WSP_REGEXP, "") + "\r\n";
  }
}
