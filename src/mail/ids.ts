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
  if (bytes > POOL_SIZE) return hexOf(crypto.getRandomValues(new Uint8Array(bytes)), 0, bytes);
  if (used + bytes > POOL_SIZE) {
    crypto.getRandomValues(pool);
    used = 0;
  }
  const out = hexOf(pool, used, bytes);
  used += bytes;
  return out;
}

// Each message takes several ids (session, message, envelopes, log lines): bytes are drawn
// from the CSPRNG a pool at a time, each used once, rather than by a call per id.
const POOL_SIZE = 4096;
const pool = new Uint8Array(POOL_SIZE);
let used = POOL_SIZE;
const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));

function hexOf(data: Uint8Array, start: number, count: number): string {
  let out = "";
  for (let i = start; i < start + count; i++) out += HEX[data[i]!];
  return out;
}

/**
 * Ids for `count` new envelopes of message `msgid`: the message id and 8 hex digits of
 * their own, all different, and none of `taken`. Drawn independently, two of a message's
 * 20,000 recipients would share one about once in 21 such messages, and the queue, whose
 * key it is, would refuse the message.
 */
export function envelopeIds(
  msgid: string,
  count: number,
  taken: ReadonlySet<string> = new Set(),
): string[] {
  const ids: string[] = [];
  const seen = new Set(taken);
  while (ids.length < count) {
    const id = msgid + randomHex(4);
    if (seen.has(id)) continue;
    seen.add(id);
    ids.push(id);
  }
  return ids;
}
