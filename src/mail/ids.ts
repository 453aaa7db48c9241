// Random identifiers: session ids, message ids and envelope ids are hex digits from the CSPRNG.

/**
 * Random hex digits from the system's CSPRNG (`bytes` bytes, twice as many digits).
 *
 * @example
 * ```ts
 * import { randomHex } from "./ids.ts";
 * randomHex(4).length; // 8
 * ```
 */
export function randomHex(bytes: number): string {
  const data = crypto.getRandomValues(new Uint8Array(bytes));
  let out = "";
  for (const b of data) out += b.toString(16).padStart(2, "0");
  return out;
}
