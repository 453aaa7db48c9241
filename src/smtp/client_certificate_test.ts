// What a `verify` listener takes from a client, certificate by certificate.

import { X509Certificate } from "node:crypto";
import { assertEquals } from "../../test/assert.ts";
import { testClientCertificates } from "../../test/_client_certificates.ts";
import { checkClientCertificate, parseCertificates } from "./client_certificate.ts";
import { CLIENT_AUTH_OID, extendedKeyUsages } from "./extended_key_usage.ts";

const clients = await testClientCertificates();
const ignore = !clients;

Deno.test({
  name: "checkClientCertificate() takes what the ca signed and names why it refuses the rest",
  ignore,
  fn() {
    const root = parseCertificates(clients!.ca);
    const leaf = (pem: string) => new X509Certificate(pem);
    assertEquals(checkClientCertificate(leaf(clients!.valid.cert), root), undefined);
    assertEquals(checkClientCertificate(leaf(clients!.anyUse.cert), root), undefined);
    assertEquals(checkClientCertificate(leaf(clients!.version1.cert), root), undefined);
    assertEquals(checkClientCertificate(undefined, root), "no certificate");
    assertEquals(
      checkClientCertificate(leaf(clients!.selfSigned.cert), root),
      "self-signed certificate",
    );
    assertEquals(
      checkClientCertificate(leaf(clients!.otherCa.cert), root),
      "unable to get local issuer certificate",
    );
    assertEquals(
      checkClientCertificate(leaf(clients!.expired.cert), root),
      "certificate has expired",
    );
    assertEquals(
      checkClientCertificate(leaf(clients!.serverOnly.cert), root),
      "unsupported certificate purpose",
    );
    // The leaf alone (the runtime shows no more of what the client sent).
    assertEquals(
      checkClientCertificate(leaf(clients!.chained.cert), root),
      "unable to get local issuer certificate",
    );
    assertEquals(
      checkClientCertificate(
        leaf(clients!.chained.cert),
        parseCertificates(clients!.caWithIntermediate),
      ),
      undefined,
    );
  },
});

Deno.test({
  name: "checkClientCertificate() refuses a certificate before and after its validity",
  ignore,
  fn() {
    const root = parseCertificates(clients!.ca);
    const valid = new X509Certificate(clients!.valid.cert);
    const before = new Date(valid.validFromDate.getTime() - 60_000);
    assertEquals(checkClientCertificate(valid, root, before), "certificate is not yet valid");
    const after = new Date(valid.validToDate.getTime() + 60_000);
    assertEquals(checkClientCertificate(valid, root, after), "certificate has expired");
  },
});

Deno.test({
  name: "extendedKeyUsages() reads the extension, and is undefined without one",
  ignore,
  fn() {
    const der = (pem: string) => new Uint8Array(new X509Certificate(pem).raw);
    assertEquals(extendedKeyUsages(der(clients!.valid.cert)), [CLIENT_AUTH_OID]);
    assertEquals(extendedKeyUsages(der(clients!.serverOnly.cert)), ["1.3.6.1.5.5.7.3.1"]);
    assertEquals(extendedKeyUsages(der(clients!.anyUse.cert)), undefined);
  },
});

Deno.test("parseCertificates() reads every certificate of a bundle", {
  ignore,
}, () => {
  assertEquals(parseCertificates(clients!.caWithIntermediate).length, 2);
  assertEquals(parseCertificates("no pem here"), []);
});
