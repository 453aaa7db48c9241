// Authentication-Results fields a message arrives with that claim this host's
// authserv-id: RFC 8601 §5 says an MTA "MUST remove or rename" them, whatever their form.

/**
 * The message without Authentication-Results fields that claim our authserv-id: they
 * were not written here. Folded, commented (`Authentication-Results: (x) id;`), upper-case
 * and `Authentication-Results :` (RFC 5322 §4.5.3's obsolete space) forms are all seen.
 */
export function dropForgedResults(lines: readonly string[], authservId: string): string[] {
  const id = authservId.toLowerCase();
  const out: string[] = [];
  let i = 0;
  // Field by field up to the empty line; a field is its first line and its continuations.
  while (i < lines.length && lines[i] !== "") {
    let end = i + 1;
    while (end < lines.length && /^[ \t]/.test(lines[end]!)) end++;
    const field = lines.slice(i, end);
    if (claimedId(field.join(""))?.toLowerCase() !== id) out.push(...field);
    i = end;
  }
  for (; i < lines.length; i++) out.push(lines[i]!);
  return out;
}

const AR_NAME_REGEXP = /^authentication-results[ \t]*:/i;

// The authserv-id of an unfolded Authentication-Results field, else undefined. RFC 8601
// §2.2: "Authentication-Results:" [CFWS] authserv-id, the id a token or quoted-string.
function claimedId(text: string): string | undefined {
  const name = AR_NAME_REGEXP.exec(text);
  if (!name) return undefined;
  let at = skipCfws(text, name[0].length);
  if (text[at] === '"') return quotedString(text, at);
  const start = at;
  while (at < text.length && !" \t;(".includes(text[at]!)) at++;
  return text.slice(start, at);
}

// The index after the spaces and comments at `at`; comments nest and take quoted-pairs
// (RFC 5322 §3.2.2).
function skipCfws(text: string, at: number): number {
  let depth = 0;
  for (; at < text.length; at++) {
    const c = text[at]!;
    if (c === "\\" && depth > 0) at++;
    else if (c === "(") depth++;
    else if (c === ")" && depth > 0) depth--;
    else if (depth === 0 && c !== " " && c !== "\t") break;
  }
  return at;
}

// The content of the quoted-string starting at `at` (RFC 5322 §3.2.4), quoted-pairs undone.
function quotedString(text: string, at: number): string {
  let value = "";
  for (at++; at < text.length && text[at] !== '"'; at++) {
    if (text[at] === "\\") at++;
    value += text[at] ?? "";
  }
  return value;
}
