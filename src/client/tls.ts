// Client TLS through node:tls, so that each connection decides whether an unverified
// certificate is acceptable (opportunistic MX delivery) or not (`tls`, smtps smarthosts).
// The handshake never rejects a certificate itself: the caller reads `verified`.

import { isIP, type Socket } from "node:net";
import {
  checkServerIdentity,
  connect as tlsConnect,
  type ConnectionOptions,
  type DetailedPeerCertificate,
  type TLSSocket,
} from "node:tls";
import { ChannelError } from "./channel.ts";

/** The TLS side of one connection. */
export interface ClientTls {
  /** The server's host name: sent as SNI and checked against its certificate. */
  readonly servername: string;
  /** Trust anchors (PEM); without them, the system's store. */
  readonly ca?: string;
  /** A client certificate and its key (PEM), for `pki NAME`. */
  readonly cert?: string;
  readonly key?: string;
}

/** What the handshake gave, for the log and the verification decision. */
export interface TlsSummary {
  readonly version: string;
  readonly cipher: string;
  /** The chain leads to a trusted root and the certificate names the host. */
  readonly verified: boolean;
  /** Why it did not verify (e.g. DEPTH_ZERO_SELF_SIGNED_CERT). */
  readonly verifyError?: string;
  /** The certificates the server presented (DER), its own first: what DANE matches. */
  readonly chain: readonly Uint8Array[];
}

/** The handshake itself failed: no TLS session exists (unlike a certificate that did not verify). */
export class TlsHandshakeError extends ChannelError {
  constructor(message: string) {
    super(message);
    this.name = "TlsHandshakeError";
  }
}

// Where distributions keep the bundle update-ca-certificates (or its kin) writes.
const SYSTEM_BUNDLES = [
  "/etc/ssl/certs/ca-certificates.crt",
  "/etc/pki/tls/certs/ca-bundle.crt",
  "/etc/ssl/cert.pem",
];
let systemStore: string | undefined | null = null;

/**
 * The trust store an administrator manages: `$SSL_CERT_FILE` as OpenSSL reads it, else
 * the system bundle; undefined (the runtime's own roots) only where neither exists.
 */
export function systemTrustStore(): string | undefined {
  if (systemStore !== null) return systemStore;
  const override = Deno.env.get("SSL_CERT_FILE");
  for (const path of override ? [override, ...SYSTEM_BUNDLES] : SYSTEM_BUNDLES) {
    try {
      systemStore = Deno.readTextFileSync(path);
      return systemStore;
    } catch {
      // Not this one.
    }
  }
  systemStore = undefined;
  return systemStore;
}

/**
 * Runs a client handshake, over `socket` (STARTTLS) or a new connection to `address`
 * (implicit TLS), within `timeoutMs`.
 */
export function handshake(
  over: { readonly socket: Socket } | { readonly host: string; readonly port: number },
  tls: ClientTls,
  timeoutMs: number,
): Promise<{ socket: TLSSocket; summary: TlsSummary }> {
  const ca = tls.ca ?? systemTrustStore();
  const options: ConnectionOptions = {
    ...over,
    // RFC 6066 §3: SNI carries host names only, never an address literal.
    ...(isIP(tls.servername) === 0 ? { servername: tls.servername } : {}),
    rejectUnauthorized: false,
    // RFC 6125: the certificate must name the host we meant, whatever address we dialled.
    checkServerIdentity: (_host, cert) => checkServerIdentity(tls.servername, cert),
    ...(ca === undefined ? {} : { ca }),
    ...(tls.cert && tls.key ? { cert: tls.cert, key: tls.key } : {}),
  };
  return new Promise((resolve, reject) => {
    const socket = tlsConnect(options);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new TlsHandshakeError(`TLS handshake not done within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    socket.once("error", (error: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(new TlsHandshakeError(`TLS handshake failed: ${error.message}`));
    });
    socket.once("secureConnect", () => {
      clearTimeout(timer);
      socket.removeAllListeners("error");
      const cipher = socket.getCipher();
      const error = socket.authorizationError;
      resolve({
        socket,
        summary: {
          version: socket.getProtocol() ?? "TLS",
          cipher: cipher?.standardName ?? cipher?.name ?? "unknown",
          verified: socket.authorized,
          ...(socket.authorized || !error ? {} : { verifyError: String(error) }),
          chain: peerChain(socket),
        },
      });
    });
  });
}

/** `TLSv1.3 TLS_AES_256_GCM_SHA384 verified` or `… unverified (reason)`, for the log. */
export function describeTls(summary: TlsSummary): string {
  const check = summary.verified
    ? "verified"
    : `unverified${summary.verifyError ? ` (${summary.verifyError})` : ""}`;
  return `version=${summary.version} cipher=${summary.cipher} certificate=${check}`;
}

// The presented chain, leaf first; a self-issued certificate ends it (it names itself).
function peerChain(socket: TLSSocket): Uint8Array[] {
  const chain: Uint8Array[] = [];
  let cert: DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
  while (cert?.raw && chain.length < 16) {
    chain.push(new Uint8Array(cert.raw));
    const issuer: DetailedPeerCertificate | undefined = cert.issuerCertificate;
    if (!issuer || issuer === cert || issuer.raw?.equals(cert.raw)) break;
    cert = issuer;
  }
  return chain;
}
