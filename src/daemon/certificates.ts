// Reads the certificates a listener's `pki` names, so a missing or unreadable file stops
// the start with the pki's name and the path, and its TLS ciphers and protocols; and checks
// every pki's files for `smtpd -n`.

import {
  type Config,
  type Diagnostic,
  formatPosition,
  type Listener,
  listenerPkiNames,
  parseTlsProtocols,
} from "../config/mod.ts";
import type { ListenerTls } from "../smtp/mod.ts";
import { resolvePath } from "../tables/mod.ts";
import { errorMessage } from "../mail/mod.ts";
import { pkiKeyMismatch } from "./pki_key_match.ts";

/** The TLS settings of a listener, or undefined when it offers none. */
export async function listenerTls(
  config: Config,
  listener: Listener,
  options: { baseDir: string; serverName: string },
): Promise<ListenerTls | undefined> {
  if (!listener.tls) return undefined;
  const { baseDir, serverName } = options;
  const where = formatPosition(listener.position);
  // Without `pki`: the pki named after the listener's host name, else "*" (smtpd.conf(5)).
  const names = listenerPkiNames(config, listener, serverName);
  if (names.length === 0) {
    const name = listener.hostname ?? serverName;
    throw new Error(
      `${where}: listen on ${listener.address} offers TLS but names no pki, and no pki is ` +
        `named "${name}" or "*"`,
    );
  }
  const certificates = [];
  for (const name of names) {
    const pki = config.pkis.find((p) => p.name === name);
    if (!pki?.cert || !pki.key) throw new Error(`${where}: pki "${name}" needs a cert and a key`);
    const cert = await readPem(name, "cert", resolvePath(baseDir, pki.cert));
    const key = await readPem(name, "key", resolvePath(baseDir, pki.key));
    const mismatch = pkiKeyMismatch(cert, key);
    if (mismatch) throw new Error(`${formatPosition(pki.position)}: pki "${name}": ${mismatch}`);
    certificates.push({ name, cert, key });
  }
  let ca: string | undefined;
  if (listener.ca) {
    const decl = config.cas.find((c) => c.name === listener.ca);
    if (!decl) throw new Error(`${where}: no ca named "${listener.ca}"`);
    ca = await readPem(listener.ca, "CA certificate", resolvePath(baseDir, decl.cert));
  }
  if (listener.verifyClient && !ca) {
    throw new Error(`${where}: verify needs a ca to check client certificates against`);
  }
  // `ciphers` on the listener, else `smtp ciphers`; `protocols` was checked when parsed.
  const ciphers = listener.ciphers ?? config.smtp.ciphers;
  const versions = listener.protocols === undefined
    ? undefined
    : parseTlsProtocols(listener.protocols);
  return {
    mode: listener.tls,
    certificates,
    ...(listener.verifyClient ? { verifyClient: true } : {}),
    ...(ca ? { ca } : {}),
    ...(ciphers === undefined ? {} : { ciphers }),
    ...(versions && !("error" in versions) ? { versions } : {}),
  };
}

async function readPem(name: string, what: string, path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    const why = errorMessage(error);
    throw new Error(`Cannot read the ${what} of "${name}" from "${path}": ${why}`);
  }
}

/**
 * Reads every pki's certificate and key and every ca's certificate, as smtpd(8) does before
 * it says "configuration OK" (load_pki_tree): one error at the declaration per file that
 * cannot be read or holds no PEM block.
 */
export async function checkPkiFiles(config: Config, baseDir: string): Promise<Diagnostic[]> {
  const diagnostics: Diagnostic[] = [];
  const files = [
    ...config.pkis.flatMap((p) => [
      ...(p.cert ? [{ name: p.name, what: "certificate", path: p.cert, at: p.position }] : []),
      ...(p.key ? [{ name: p.name, what: "key", path: p.key, at: p.position }] : []),
    ]),
    ...config.cas.map((c) => ({
      name: c.name,
      what: "CA certificate",
      path: c.cert,
      at: c.position,
    })),
  ];
  const texts = new Map<string, string>();
  for (const file of files) {
    const path = resolvePath(baseDir, file.path);
    try {
      const text = await Deno.readTextFile(path);
      if (!text.includes("-----BEGIN ")) throw new Error("no PEM block in it");
      texts.set(path, text);
    } catch (error) {
      diagnostics.push({
        severity: "error",
        message: `Cannot read the ${file.what} of "${file.name}" from "${path}": ${
          errorMessage(error)
        }`,
        position: file.at,
      });
    }
  }
  // A pair that was read is checked as libtls does when the daemon starts.
  for (const pki of config.pkis) {
    const cert = pki.cert && texts.get(resolvePath(baseDir, pki.cert));
    const key = pki.key && texts.get(resolvePath(baseDir, pki.key));
    const mismatch = cert && key ? pkiKeyMismatch(cert, key) : undefined;
    if (mismatch) {
      diagnostics.push({
        severity: "error",
        message: `pki "${pki.name}": ${mismatch}`,
        position: pki.position,
      });
    }
  }
  return diagnostics;
}
