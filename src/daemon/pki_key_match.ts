// Whether a pki's private key belongs to its certificate: a mismatched pair passes every
// file check, then fails each TLS handshake with a bare disconnect (OpenSMTPD's libtls
// refuses it when the daemon starts).

import { createPrivateKey, createPublicKey, X509Certificate } from "node:crypto";
import { errorMessage } from "../mail/mod.ts";

/** Why the key cannot serve the certificate (the first one of the file), or undefined. */
export function pkiKeyMismatch(certPem: string, keyPem: string): string | undefined {
  let certificateKey: Buffer;
  try {
    certificateKey = new X509Certificate(certPem).publicKey.export({ type: "spki", format: "der" });
  } catch (error) {
    return `the certificate cannot be read: ${errorMessage(error)}`;
  }
  let ownKey: Buffer;
  try {
    ownKey = createPublicKey(createPrivateKey(keyPem)).export({ type: "spki", format: "der" });
  } catch (error) {
    return `the private key cannot be read: ${errorMessage(error)}`;
  }
  return ownKey.equals(certificateKey)
    ? undefined
    : "the private key does not match the certificate's public key";
}
