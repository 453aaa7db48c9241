// How a session's commands and end reasons appear in the log: AUTH's secrets hidden,
// reasons with spaces quoted, as OpenSMTPD's smtp lines show them.

/** The command as `failed-command` shows it: AUTH's initial response is a secret. */
export function loggableCommand(line: string): string {
  const auth = /^AUTH\s+(\S+)/i.exec(line);
  if (auth) {
    return `AUTH ${auth[1]!.toUpperCase()}${/^AUTH\s+\S+\s+\S/i.test(line) ? " (...)" : ""}`;
  }
  return line;
}

/** A reason with spaces is quoted, as OpenSMTPD's `reason="io-error: …"`. */
export function quotedReason(reason: string): string {
  return `"${reason.replaceAll('"', "'")}"`;
}

/** tls_to_text: version:cipher:bits (Received: adds whether the client was verified). */
export function tlsCiphers(description: string | undefined): string {
  return (description ?? "unknown").split(":").slice(0, 3).join(":");
}
