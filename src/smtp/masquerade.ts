// `senders <t> masquerade`: the From: header of an authenticated user's message shows the
// envelope sender, which the senders table allowed, whatever the client wrote there.

const decoder = new TextDecoder("latin1");

/** The message with its From: address replaced by the sender (display name kept). */
export function masqueradeFrom(content: Uint8Array, sender: string): Uint8Array {
  const text = decoder.decode(content);
  const end = text.indexOf("\r\n\r\n");
  const headers = end === -1 ? text : text.slice(0, end + 2);
  const lines = headers.split("\r\n");
  const out: string[] = [];
  let replaced = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (replaced || !/^from:/i.test(line)) {
      out.push(line);
      continue;
    }
    // The header may be folded over several lines: take them all.
    let value = line.slice(5);
    while (i + 1 < lines.length && /^[ \t]/.test(lines[i + 1]!)) value += lines[++i]!;
    const name = /^\s*(.*?)\s*<[^>]*>\s*$/.exec(value)?.[1];
    out.push(name ? `From: ${name} <${sender}>` : `From: <${sender}>`);
    replaced = true;
  }
  if (!replaced) return content;
  const rebuilt = out.join("\r\n") + (end === -1 ? "" : text.slice(end + 2));
  return encodeLatin1(rebuilt);
}

// Bytes back as they were: every character of a latin1 decoding is one byte.
function encodeLatin1(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}
