// SASL to a relay (RFC 4954): PLAIN (RFC 4616) in one initial response when offered, else
// LOGIN's two prompts. The caller makes sure this only ever runs over TLS.

import type { Channel } from "./channel.ts";
import { readReply, type Reply } from "./reply.ts";

/** A user name and password, as a `credentials` table entry `user:password` holds them. */
export interface Credentials {
  readonly user: string;
  readonly password: string;
}

/** The mechanisms this client speaks, best first. */
export const CLIENT_MECHANISMS = ["PLAIN", "LOGIN"] as const;

const encoder = new TextEncoder();

/**
 * Authenticates with the first of {@link CLIENT_MECHANISMS} the server offers; the
 * server's final reply (235 on success). Undefined when it offers none of them.
 */
export async function authenticate(
  channel: Channel,
  offered: readonly string[],
  credentials: Credentials,
  timeoutMs: number,
): Promise<Reply | undefined> {
  const send = async (line: string) => {
    await channel.write(encoder.encode(`${line}\r\n`), timeoutMs);
    return await readReply(channel, timeoutMs);
  };
  if (offered.includes("PLAIN")) {
    return await send(`AUTH PLAIN ${base64(`\0${credentials.user}\0${credentials.password}`)}`);
  }
  if (offered.includes("LOGIN")) {
    const first = await send("AUTH LOGIN");
    if (first.code !== 334) return first;
    const second = await send(base64(credentials.user));
    if (second.code !== 334) return second;
    return await send(base64(credentials.password));
  }
  return undefined;
}

/** Splits a `user:password` entry at its first colon; undefined when it has none. */
export function parseCredentials(entry: string): Credentials | undefined {
  const colon = entry.indexOf(":");
  if (colon <= 0) return undefined;
  return { user: entry.slice(0, colon), password: entry.slice(colon + 1) };
}

function base64(text: string): string {
  let binary = "";
  for (const byte of encoder.encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary);
}
