// TLS for listeners, the only file that touches node:tls: certificate contexts chosen by
// SNI (sni.ts), STARTTLS upgrades of an accepted socket, and the cipher line of Received:.

import type { X509Certificate } from "node:crypto";
import type { Socket } from "node:net";
import { createSecureContext, type SecureContext, TLSSocket } from "node:tls";
import { checkClientCertificate, parseCertificates } from "./client_certificate.ts";
import { certificateNames, selectCertificate } from "./sni.ts";

/** A certificate and its key, PEM text, under the name clients ask for (SNI). */
export interface Certificate {
  /** The pki name: a host name, or `*`. */
  readonly name: string;
  readonly cert: string;
  readonly key: string;
}

/** How a listener offers TLS, with the certificates it serves. */
export interface ListenerTls {
  readonly mode: "starttls" | "starttls-require" | "smtps";
  readonly certificates: readonly Certificate[];
  /** `verify`: the client must present a certificate signed by `ca`. */
  readonly verifyClient?: boolean;
  /** PEM of the CAs client certificates are checked against (`listen … ca NAME`). */
  readonly ca?: string;
  /**
   * `ciphers STR`: the OpenSSL cipher list, handed to node:tls (whose server side in Deno
   * chooses among its own suites; the daemon warns of that).
   */
  readonly ciphers?: string;
  /** `protocols STR`: the lowest and highest TLS version offered (default 1.2 to 1.3). */
  readonly versions?: { readonly min: TlsVersionName; readonly max: TlsVersionName };
}

/** A TLS version as node:tls names it. */
export type TlsVersionName = "TLSv1" | "TLSv1.1" | "TLSv1.2" | "TLSv1.3";

/**
 * Contexts ready for handshakes: the first certificate unless SNI asks for a name another
 * one is for (see {@link selectCertificate}).
 */
export interface TlsContexts {
  readonly secureContext: SecureContext;
  /**
   * Ask for a client certificate (the handshake fails without one); the session then
   * checks it against `authorities` ({@link clientCertificateRefusal}).
   */
  readonly verifyClient: boolean;
  /** The certificates of the listener's ca file. */
  readonly authorities: readonly X509Certificate[];
  SNICallback(servername: string, done: (error: Error | null, ctx?: SecureContext) => void): void;
}

/**
 * Builds the contexts of a listener; TLS 1.2 at least (OpenSMTPD 7.4 dropped 1.0/1.1)
 * unless `protocols` says otherwise. A cipher list OpenSSL cannot use throws, naming it.
 */
export function createTlsContexts(
  certificates: readonly Certificate[],
  options: Pick<ListenerTls, "verifyClient" | "ca" | "ciphers" | "versions"> = {},
): TlsContexts {
  if (certificates.length === 0) throw new Error("TLS needs at least one certificate");
  if (options.verifyClient && !options.ca) throw new Error("verify needs a ca to check against");
  const authorities = options.ca ? parseCertificates(options.ca) : [];
  if (options.verifyClient && authorities.length === 0) {
    throw new Error("verify needs a ca file that holds a certificate");
  }
  const secureContext = (c: Certificate) => {
    try {
      return createSecureContext({
        cert: c.cert,
        key: c.key,
        minVersion: options.versions?.min ?? "TLSv1.2",
        ...(options.versions ? { maxVersion: options.versions.max } : {}),
        ...(options.ciphers === undefined ? {} : { ciphers: options.ciphers }),
        ...(options.ca ? { ca: options.ca } : {}),
      });
    } catch (error) {
      if (options.ciphers === undefined) throw error;
      const why = error instanceof Error ? error.message : String(error);
      throw new Error(`Cannot use the ciphers "${options.ciphers}": ${why}`);
    }
  };
  const contexts = certificates.map((c) => ({
    // The context first: a certificate it cannot use is refused with its error.
    context: secureContext(c),
    names: certificateNames(c.cert),
    pki: c.name.toLowerCase(),
  }));
  const fallback = contexts[0]!.context;
  return {
    secureContext: fallback,
    verifyClient: options.verifyClient ?? false,
    authorities,
    SNICallback(servername, done) {
      done(null, contexts[selectCertificate(servername, contexts)]?.context ?? fallback);
    },
  };
}

/**
 * Upgrades an accepted plain socket to TLS as the server side (STARTTLS, and SMTPS on a
 * plain listener). With `verify`, the runtime only makes sure a certificate is sent:
 * Deno's node:tls checks neither its issuer nor its dates on a TLSSocket (`authorized` is
 * always false), so the caller checks it with {@link clientCertificateRefusal} once the
 * handshake is done.
 */
export function upgradeToTls(socket: Socket, contexts: TlsContexts): TLSSocket {
  socket.pause();
  const secure = new TLSSocket(socket, {
    isServer: true,
    secureContext: contexts.secureContext,
    SNICallback: contexts.SNICallback,
    requestCert: contexts.verifyClient,
    rejectUnauthorized: contexts.verifyClient,
  });
  // Small records, answered at once: without this the handshake waits on delayed ACKs.
  secure.setNoDelay(true);
  return secure;
}

/**
 * Why a `verify` listener refuses the client of a finished handshake (see
 * {@link checkClientCertificate}), or undefined when it takes it or does not verify.
 */
export function clientCertificateRefusal(
  socket: TLSSocket,
  contexts: TlsContexts,
): string | undefined {
  if (!contexts.verifyClient) return undefined;
  return checkClientCertificate(socket.getPeerX509Certificate(), contexts.authorities);
}

/** The client certificate's hash as libtls's tls_peer_cert_hash() gives it: `SHA256:hex`. */
export function peerCertificateHash(socket: Socket): string | undefined {
  if (!(socket instanceof TLSSocket)) return undefined;
  const fingerprint = socket.getPeerX509Certificate()?.fingerprint256;
  return fingerprint && `SHA256:${fingerprint.replaceAll(":", "").toLowerCase()}`;
}

/**
 * `TLSv1.3:TLS_AES_256_GCM_SHA384:256:NO`, as OpenSMTPD writes it into Received:; YES when
 * the client's certificate was verified.
 */
export function describeTls(socket: Socket, verified = false): string | undefined {
  if (!(socket instanceof TLSSocket)) return undefined;
  const protocol = socket.getProtocol() ?? "TLS";
  const cipher = socket.getCipher();
  const bits = /_(\d{3})_/.exec(cipher?.standardName ?? cipher?.name ?? "")?.[1] ?? "0";
  return `${protocol}:${cipher?.standardName ?? cipher?.name ?? "unknown"}:${bits}:${
    verified ? "YES" : "NO"
  }`;
}
