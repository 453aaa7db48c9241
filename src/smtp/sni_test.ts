// SNI's choice among a listener's certificates: by certificate names, then pki names.

import { assertEquals } from "../../test/assert.ts";
import { testCertificate } from "../../test/_certificate.ts";
import { certificateNames, selectCertificate } from "./sni.ts";

const candidates = [
  { names: ["mx.example.test"], pki: "first" },
  { names: ["other.example.test", "*.wild.test"], pki: "second" },
  { names: ["old.example.test"], pki: "legacy.example.test" },
];

Deno.test("selectCertificate() picks by the certificates' names, whatever the pki is called", () => {
  assertEquals(selectCertificate("other.example.test", candidates), 1);
  assertEquals(selectCertificate("OTHER.Example.TEST", candidates), 1);
  assertEquals(selectCertificate("mx.example.test", candidates), 0);
  assertEquals(selectCertificate("old.example.test", candidates), 2);
});

Deno.test("selectCertificate() matches a wildcard against one whole label only", () => {
  assertEquals(selectCertificate("a.wild.test", candidates), 1);
  assertEquals(selectCertificate("wild.test", candidates), 0);
  assertEquals(selectCertificate("a.b.wild.test", candidates), 0);
  assertEquals(
    selectCertificate("a.test", [{ names: ["mx.test"], pki: "p" }, {
      names: ["*.test"],
      pki: "q",
    }]),
    0,
  );
  assertEquals(
    selectCertificate("ba.example.test", [{ names: [], pki: "p" }, {
      names: ["*a.example.test"],
      pki: "q",
    }]),
    0,
  );
});

Deno.test("selectCertificate() falls back to the pki name, then `*`, then the first", () => {
  assertEquals(selectCertificate("legacy.example.test", candidates), 2);
  const named = [{ names: [], pki: "a" }, { names: [], pki: "*.b.test" }, { names: [], pki: "*" }];
  assertEquals(selectCertificate("x.b.test", named), 1);
  assertEquals(selectCertificate("unknown.test", named), 2);
  assertEquals(selectCertificate("unknown.test", candidates), 0);
});

Deno.test("certificateNames() gives the DNS subjectAltNames of a certificate", async () => {
  const certificate = await testCertificate("Names.Example.test");
  if (!certificate) return;
  assertEquals(certificateNames(certificate.cert), ["names.example.test"]);
  assertEquals(certificateNames(certificate.ca), ["test ca"]);
});
