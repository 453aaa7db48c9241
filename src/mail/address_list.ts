// The addresses of a header value or an argument (sendmail's `-f`, recipients and `-t`'s
// To:, Cc: and Bcc:; the From: a DKIM signer signs for), RFC 5322 §3.4: names, comments,
// groups. Extraction only: whether an address is one MAIL FROM or RCPT TO would take is
// the caller's check.

/**
 * The addresses of a header value or argument: `A <a@x>, "B, C" <b@y>, c@z (Carl)`.
 * A group (`friends: a@x, b@y;`) gives its members, an empty one
 * (`undisclosed-recipients:;`) nobody. A part that is no address is returned as given,
 * for the caller's syntax check to name.
 *
 * @example
 * ```ts
 * import { splitAddressList } from "./address_list.ts";
 * splitAddressList("friends: Ann <a@x.test>, b@x.test;, c@x.test");
 * // ["a@x.test", "b@x.test", "c@x.test"]
 * ```
 */
export function splitAddressList(value: string): string[] {
  const parts: string[] = [];
  let current = "";
  let quoted = false;
  let escaped = false;
  let angle = 0;
  let comment = 0;
  let group = false;
  for (const c of value) {
    const structural = !quoted && !escaped && comment === 0 && angle === 0;
    if (escaped) escaped = false;
    else if (c === "\\" && (quoted || comment > 0)) escaped = true;
    else if (c === '"' && comment === 0) quoted = !quoted;
    else if (!quoted && c === "(") comment++;
    else if (!quoted && c === ")" && comment > 0) comment--;
    else if (!quoted && comment === 0 && c === "<") angle++;
    else if (!quoted && comment === 0 && c === ">" && angle > 0) angle--;
    if (structural && c === ",") {
      parts.push(current);
      current = "";
    } else if (structural && c === ":" && !group) {
      // `display-name:` opens a group: what came before is its name, not an address.
      group = true;
      current = "";
    } else if (structural && c === ";" && group) {
      group = false;
      parts.push(current);
      current = "";
    } else current += c;
  }
  parts.push(current);
  return parts.map(addressOf).filter((a) => a !== "");
}

/**
 * The address of one mailbox: `Name <addr>` gives what the brackets hold, `addr (comment)`
 * the address without the comment. Anything else around brackets (`<a>@x`, `<a> <b>`) is
 * no mailbox, and is returned trimmed but otherwise as given.
 *
 * @example
 * ```ts
 * import { addressOf } from "./address_list.ts";
 * addressOf("John Smith <john@x.test>"); // "john@x.test"
 * addressOf("<bad>@x.test"); // "<bad>@x.test"
 * ```
 */
export function addressOf(part: string): string {
  let plain = ""; // the part without its comments
  let quoted = false;
  let comment = 0;
  const brackets: { char: string; at: number }[] = [];
  for (let i = 0; i < part.length; i++) {
    const c = part[i]!;
    if (comment > 0) {
      if (c === "\\") i++;
      else if (c === "(") comment++;
      else if (c === ")") comment--;
      continue;
    }
    if (quoted && c === "\\") {
      plain += c + (part[i + 1] ?? "");
      i++;
      continue;
    }
    if (c === '"') quoted = !quoted;
    else if (!quoted && c === "(") {
      comment++;
      // A comment separates what is around it.
      plain += " ";
      continue;
    } else if (!quoted && (c === "<" || c === ">")) brackets.push({ char: c, at: plain.length });
    plain += c;
  }
  if (brackets.length === 0) return plain.trim();
  const [open, close] = brackets;
  if (
    brackets.length === 2 && open!.char === "<" && close!.char === ">" &&
    plain.slice(close!.at + 1).trim() === ""
  ) {
    return plain.slice(open!.at + 1, close!.at).trim();
  }
  return part.trim();
}
