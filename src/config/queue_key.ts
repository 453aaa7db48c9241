// The form of a queue encryption key (smtpd.conf(5) `queue encryption KEY`): checked when the
// file is read, so `smtpd -n` refuses what the start would, and decoded by the queue.

/**
 * The 32-byte key from the configuration: 64 hex digits, base64 of 32 bytes, or a
 * 32-character string used as it is (OpenSMTPD's own key form). Anything else is refused:
 * a short or mistyped key must fail at start, not weaken the encryption.
 */
export function parseQueueKey(text: string): Uint8Array {
  const trimmed = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) {
    return Uint8Array.from(trimmed.match(/../g)!, (h) => parseInt(h, 16));
  }
  if (/^[A-Za-z0-9+/]{43}=$/.test(trimmed)) {
    const binary = atob(trimmed);
    return Uint8Array.from(binary, (c) => c.charCodeAt(0));
  }
  const bytes = new TextEncoder().encode(trimmed);
  if (bytes.byteLength === 32) return bytes;
  throw new Error(
    "The queue encryption key must be 32 bytes: 64 hex digits, base64 of 32 bytes, " +
      `or 32 characters (got ${bytes.byteLength} characters)`,
  );
}
