// A self-signed certificate made with openssl for TLS tests; undefined (and the reason
// printed by the caller) when openssl is not installed.

/** PEM text of a certificate for `name`, its key, and the CA that signed it. */
export interface TestCertificate {
  readonly name: string;
  readonly cert: string;
  readonly key: string;
  /** The test CA clients trust (rustls refuses a self-signed leaf). */
  readonly ca: string;
  /** A client certificate and key signed by the same CA, for `verify` listeners. */
  readonly clientCert: string;
  readonly clientKey: string;
}

const cached = new Map<string, Promise<TestCertificate | undefined>>();

/** Makes (once per process and name) a P-256 certificate, with a CA of its own. */
export function testCertificate(name = "mx.example.test"): Promise<TestCertificate | undefined> {
  let made = cached.get(name);
  if (!made) cached.set(name, made = make(name));
  return made;
}

async function make(name: string): Promise<TestCertificate | undefined> {
  const dir = await Deno.makeTempDir({ prefix: "cert-" });
  try {
    const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    await openssl(dir, [
      "req",
      "-x509",
      ...ec,
      "-keyout",
      "ca.key",
      "-out",
      "ca.pem",
      "-days",
      "2",
      "-subj",
      "/CN=Test CA",
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign",
    ]);
    await openssl(dir, [
      "req",
      ...ec,
      "-keyout",
      "key.pem",
      "-out",
      "leaf.csr",
      "-subj",
      `/CN=${name}`,
    ]);
    await Deno.writeTextFile(
      `${dir}/leaf.ext`,
      // A name that is an IPv4 address (a server a client reaches as ldaps://127.0.0.1).
      `basicConstraints=CA:FALSE\nsubjectAltName=${
        /^\d+(\.\d+){3}$/.test(name) ? "IP" : "DNS"
      }:${name}\nextendedKeyUsage=serverAuth\n`,
    );
    await openssl(dir, [
      "x509",
      "-req",
      "-in",
      "leaf.csr",
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      "cert.pem",
      "-days",
      "2",
      "-extfile",
      "leaf.ext",
    ]);
    await openssl(dir, [
      "req",
      ...ec,
      "-keyout",
      "client.key",
      "-out",
      "client.csr",
      "-subj",
      "/CN=client.test",
    ]);
    await Deno.writeTextFile(
      `${dir}/client.ext`,
      "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n",
    );
    await openssl(dir, [
      "x509",
      "-req",
      "-in",
      "client.csr",
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      "client.pem",
      "-days",
      "2",
      "-extfile",
      "client.ext",
    ]);
    return {
      name,
      clientCert: await Deno.readTextFile(`${dir}/client.pem`),
      clientKey: await Deno.readTextFile(`${dir}/client.key`),
      cert: await Deno.readTextFile(`${dir}/cert.pem`),
      key: await Deno.readTextFile(`${dir}/key.pem`),
      ca: await Deno.readTextFile(`${dir}/ca.pem`),
    };
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Runs openssl in `dir`; throws with its error output when it fails. */
export async function openssl(dir: string, args: string[]): Promise<void> {
  const output = await new Deno.Command("openssl", {
    args,
    cwd: dir,
    stdout: "null",
    stderr: "piped",
  })
    .output();
  if (!output.success) {
    throw new Error(`openssl ${args[0]}: ${new TextDecoder().decode(output.stderr)}`);
  }
}
