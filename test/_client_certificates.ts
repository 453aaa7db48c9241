// Client certificates for `verify` listeners, made with openssl: the kinds the listener's
// CA signed that it takes, and the kinds it must refuse (self-signed, another CA's, expired, server-only,
// signed by an intermediate). Undefined when openssl is not installed.

import { openssl } from "./_certificate.ts";

/** A certificate and its key, PEM text. */
export interface KeyPair {
  readonly cert: string;
  readonly key: string;
}

/** The CA a listener checks clients against, and clients good and bad. */
export interface TestClientCertificates {
  /** The listener's `ca`: the root alone. */
  readonly ca: string;
  /** The root and the intermediate below it, as one `ca` file. */
  readonly caWithIntermediate: string;
  /** Signed by the root, for client authentication. */
  readonly valid: KeyPair;
  /** Signed by the root, without an extendedKeyUsage extension at all. */
  readonly anyUse: KeyPair;
  /** Signed by the root, X.509 version 1: no extensions (OpenSSL takes it, webpki not). */
  readonly version1: KeyPair;
  /** Signed by the intermediate; `cert` holds the leaf and the intermediate. */
  readonly chained: KeyPair;
  /** Signed by itself. */
  readonly selfSigned: KeyPair;
  /** Signed by an unrelated CA. */
  readonly otherCa: KeyPair;
  /** Signed by the root, but its validity ended before it began. */
  readonly expired: KeyPair;
  /** Signed by the root for servers only (extendedKeyUsage=serverAuth). */
  readonly serverOnly: KeyPair;
}

let made: Promise<TestClientCertificates | undefined> | undefined;

/** Makes (once per process) the client certificates. */
export function testClientCertificates(): Promise<TestClientCertificates | undefined> {
  return made ??= make();
}

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
const CA_EXTENSIONS = [
  "-addext",
  "basicConstraints=critical,CA:TRUE",
  "-addext",
  "keyUsage=critical,keyCertSign",
];

async function make(): Promise<TestClientCertificates | undefined> {
  const dir = await Deno.makeTempDir({ prefix: "client-cert-" });
  const read = (name: string) => Deno.readTextFile(`${dir}/${name}`);
  const pair = async (name: string) => ({
    cert: await read(`${name}.pem`),
    key: await read(`${name}.key`),
  });
  const selfSigned = (name: string, extra: string[]) =>
    openssl(dir, [
      "req",
      "-x509",
      ...EC,
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.pem`,
      "-days",
      "2",
      "-subj",
      `/CN=${name}`,
      ...extra,
    ]);
  // Without extensions, openssl makes an X.509 version 1 certificate.
  const signed = async (name: string, ca: string, extensions?: string, days = "2") => {
    await openssl(dir, [
      "req",
      ...EC,
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.csr`,
      "-subj",
      `/CN=${name}`,
    ]);
    if (extensions) await Deno.writeTextFile(`${dir}/${name}.ext`, extensions);
    await openssl(dir, [
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      `${ca}.pem`,
      "-CAkey",
      `${ca}.key`,
      "-CAcreateserial",
      "-out",
      `${name}.pem`,
      "-days",
      days,
      ...(extensions ? ["-extfile", `${name}.ext`] : []),
    ]);
  };
  const client = "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n";
  try {
    await selfSigned("root", CA_EXTENSIONS);
    await selfSigned("other-root", CA_EXTENSIONS);
    await selfSigned("self", []);
    await signed(
      "intermediate",
      "root",
      "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign\n",
    );
    await signed("valid", "root", client);
    await signed("any-use", "root", "basicConstraints=CA:FALSE\n");
    await signed("version-1", "root");
    await signed("chained", "intermediate", client);
    await signed("other", "other-root", client);
    // A negative lifetime: not after is a day before not before, which is now.
    await signed("expired", "root", client, "-1");
    await signed("server-only", "root", "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n");
    const intermediate = await read("intermediate.pem");
    const chained = await pair("chained");
    return {
      ca: await read("root.pem"),
      caWithIntermediate: (await read("root.pem")) + intermediate,
      valid: await pair("valid"),
      anyUse: await pair("any-use"),
      version1: await pair("version-1"),
      chained: { cert: chained.cert + intermediate, key: chained.key },
      selfSigned: await pair("self"),
      otherCa: await pair("other"),
      expired: await pair("expired"),
      serverOnly: await pair("server-only"),
    };
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
