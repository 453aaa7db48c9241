// RFC 3461 §4 xtext, the encoding of DSN parameter values (ENVID, ORCPT), and what an
// ENVID may hold once decoded.

/** xtext: "+XX" for "+", "=" and every octet outside printable ASCII (UTF-8 octets each). */
export function encodeXtext(value: string): string {
  let out = "";
  for (const byte of new TextEncoder().encode(value)) {
    out += byte < 33 || byte > 126 || byte === 0x2b || byte === 0x3d
      ? `+${byte.toString(16).toUpperCase().padStart(2, "0")}`
      : String.fromCharCode(byte);
  }
  return out;
}

/**
 * Whether a decoded ENVID may be carried: RFC 3461 §4.4 makes it printable US-ASCII
 * (graphic characters and space), so no "+0D+0A" can write a line into a report.
 */
export function isPrintableEnvid(envid: string): boolean {
  return /^[\x20-\x7e]+$/.test(envid);
}
