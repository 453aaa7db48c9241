// DKIM private keys read from PEM files (RSA for rsa-sha256, RFC 6376; Ed25519 for
// ed25519-sha256, RFC 8463), and the DNS TXT record that publishes each one's public half.

import { createPrivateKey, createPublicKey, type KeyObject } from "node:crypto";
import { Buffer } from "node:buffer";
import { errorMessage } from "../mail/mod.ts";

/** The signing algorithms (RFC 6376 §3.3, RFC 8463 §3). */
export type DkimAlgorithm = "rsa-sha256" | "ed25519-sha256";

/** A private key ready to sign with. */
export interface DkimKey {
  readonly algorithm: DkimAlgorithm;
  readonly key: KeyObject;
}

/** Parses a PEM private key (PKCS#1, PKCS#8 or OpenSSL's); throws saying what is wrong. */
export function parseDkimKey(pem: string, source = "key"): DkimKey {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: "pem" });
  } catch {
    throw new Error(`${source}: not a PEM private key`);
  }
  if (key.asymmetricKeyType === "ed25519") return { algorithm: "ed25519-sha256", key };
  if (key.asymmetricKeyType === "rsa") {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    // RFC 8301 §3.2: signers must use keys of at least 1024 bits.
    if (bits < 1024) throw new Error(`${source}: an RSA key of ${bits} bits is too short for DKIM`);
    return { algorithm: "rsa-sha256", key };
  }
  throw new Error(
    `${source}: a ${key.asymmetricKeyType} key; DKIM signs with RSA or Ed25519 keys`,
  );
}

/** Reads and parses a key file. */
export async function loadDkimKey(path: string): Promise<DkimKey> {
  let pem: string;
  try {
    pem = await Deno.readTextFile(path);
  } catch (error) {
    throw new Error(`DKIM key "${path}" cannot be read: ${errorMessage(error)}`);
  }
  return parseDkimKey(pem, `DKIM key "${path}"`);
}

/**
 * The TXT record to publish at SELECTOR._domainkey.DOMAIN: `p=` is the DER public key
 * for RSA (RFC 6376 §3.6.1) and the raw 32 octets for Ed25519 (RFC 8463 §4).
 */
export function dkimPublicRecord(key: DkimKey): string {
  const pub = createPublicKey(key.key);
  if (key.algorithm === "ed25519-sha256") {
    const jwk = pub.export({ format: "jwk" }) as { x: string };
    const raw = Buffer.from(jwk.x, "base64url").toString("base64");
    return `v=DKIM1; k=ed25519; p=${raw}`;
  }
  const der = pub.export({ format: "der", type: "spki" }) as Buffer;
  return `v=DKIM1; k=rsa; p=${der.toString("base64")}`;
}
