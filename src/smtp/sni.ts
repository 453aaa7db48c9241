// Which of a listener's certificates answers the name a client asks for (SNI), as libtls
// picks among the keypairs OpenSMTPD gives it: by the names in the certificates.

import { X509Certificate } from "node:crypto";

/** A certificate as SNI sees it: the names it is for, and its pki's name. */
export interface SniCandidate {
  /** The DNS names of its subjectAltName, else its subject CN; lowercase. */
  readonly names: readonly string[];
  /** The pki name, lowercase: a host name, or `*`. */
  readonly pki: string;
}

/** The names a PEM certificate is for: its DNS subjectAltNames, else its CN (libtls). */
export function certificateNames(pem: string): string[] {
  const certificate = new X509Certificate(pem);
  const alternatives = (certificate.subjectAltName ?? "").split(/,\s*/)
    .filter((entry) => entry.startsWith("DNS:"))
    .map((entry) => entry.slice(4).toLowerCase());
  if (alternatives.length > 0) return alternatives;
  const cn = certificate.subject.split("\n").find((part) => part.startsWith("CN="));
  return cn ? [cn.slice(3).toLowerCase()] : [];
}

/**
 * The index of the candidate for `servername`: the first whose certificate names match
 * (case-insensitive, `*.example.test` for one label), else the first whose pki name does
 * (`*` for any), else 0.
 *
 * @example
 * ```ts
 * const candidates = [{ names: ["mx.example.test"], pki: "first" }, { names: ["*.example.org"], pki: "second" }];
 * selectCertificate("MAIL.example.org", candidates); // 1
 * ```
 */
export function selectCertificate(servername: string, candidates: readonly SniCandidate[]): number {
  const name = servername.toLowerCase();
  const found = [
    candidates.findIndex((c) => c.names.some((pattern) => matchesName(pattern, name))),
    candidates.findIndex((c) => c.pki === name),
    candidates.findIndex((c) => c.pki.startsWith("*.") && matchesName(c.pki, name)),
    candidates.findIndex((c) => c.pki === "*"),
  ].find((index) => index >= 0);
  return found ?? 0;
}

// libtls's tls_match_name(): a wildcard stands for the whole first label, never for a dot,
// and only in a pattern with two labels after it.
function matchesName(pattern: string, name: string): boolean {
  if (!pattern.startsWith("*")) return pattern === name;
  const domain = pattern.slice(1);
  if (!domain.startsWith(".") || domain.startsWith("..")) return false;
  const nextDot = domain.indexOf(".", 1);
  if (nextDot < 0 || domain[nextDot + 1] === ".") return false;
  if (name.startsWith(".")) return false;
  const dot = name.indexOf(".");
  if (dot < 0 || dot === name.length - 1) return false;
  return name.slice(dot) === domain;
}
