// The ldap table against a real slapd: the table contract, live changes and filter escaping,
// a refused bind, a frozen server, and the table_ldap.c file reader.

import { assertEquals, assertRejects, assertStringIncludes } from "../../test/assert.ts";
import { waitFor } from "../../test/_helpers.ts";
import {
  kvServersMissing,
  LDAP_ADMIN,
  LDAP_PASSWORD,
  LDAP_SUFFIX,
  startSlapd,
} from "../../test/_kv_servers.ts";
import { type ContractContents, runTableContract } from "./_table_contract.ts";
import { withTableLookups } from "./network/lookup_scope.ts";
import { openLdapTable } from "./ldap.ts";
import { escapeFilterValue, parseLdapConfig } from "./ldap_config.ts";
import { LDAP_RESULT_NAMES, ldapResultText } from "./ldap_result.ts";
import { InsufficientAccessError, InvalidCredentialsError, UnknownStatusCodeError } from "ldapts";

const missing = kvServersMissing();
type Slapd = Awaited<ReturnType<typeof startSlapd>>;
let server: Promise<Slapd> | undefined;
const slapd = () => server ??= startSlapd();
let tables = 0;

async function configFile(lines: string[]): Promise<string> {
  const path = await Deno.makeTempFile({ prefix: "ldap-table-", suffix: ".conf" });
  await Deno.writeTextFile(path, lines.join("\n") + "\n");
  return path;
}

/** The `ou=` subtree a table reads, with one entry per LDIF body. */
async function addSubtree(s: Slapd, ou: string, bodies: string[]): Promise<string> {
  const base = `ou=${ou},${LDAP_SUFFIX}`;
  const ldif = [`dn: ${base}\nobjectClass: organizationalUnit\nou: ${ou}\n`];
  bodies.forEach((body, i) => ldif.push(`dn: cn=e${i},${base}\ncn: e${i}\n${body}`));
  await s.add(ldif.join("\n"));
  return base;
}

/** Stores the contract's contents with the schemas an OpenSMTPD site uses (nis, misc). */
async function makeTable(name: string, contents: ContractContents) {
  const s = await slapd();
  const ou = `t${++tables}`;
  const lines = [
    `url: ldap://127.0.0.1:${s.port}`,
    `username: ${LDAP_ADMIN}`,
    `password: ${LDAP_PASSWORD}`,
  ];
  const keys = contents.entries.map(([k]) => k);
  if (name === "domains") {
    lines.push(
      `basedn: ${await addSubtree(
        s,
        ou,
        keys.map((k) =>
          `objectClass: organizationalRole\nobjectClass: domainRelatedObject\nassociatedDomain: ${k}\n`
        ),
      )}`,
    );
    lines.push("domain_filter: (&(objectClass=domainRelatedObject)(associatedDomain=%s))");
    lines.push("domain_attributes: associatedDomain");
  } else if (name === "addresses") {
    lines.push(
      `basedn: ${await addSubtree(
        s,
        ou,
        keys.map((k) => `objectClass: inetOrgPerson\nsn: user\nmail: ${k}\n`),
      )}`,
    );
    lines.push(
      "mailaddr_filter: (&(objectClass=inetOrgPerson)(mail=%s))",
      "mailaddr_attributes: mail",
    );
  } else if (name === "networks") {
    lines.push(
      `basedn: ${await addSubtree(
        s,
        ou,
        keys.map((k) => `objectClass: ipHost\nobjectClass: device\nipHostNumber: ${k}\n`),
      )}`,
    );
    lines.push(
      "netaddr_filter: (&(objectClass=ipHost)(ipHostNumber=%s))",
      "netaddr_attributes: ipHostNumber",
      "source_filter: (&(objectClass=ipHost)(ipHostNumber=%s))",
      "source_attributes: ipHostNumber",
    );
  } else if (name === "maps") {
    // table_ldap.c has no addrname service: the contract checks mailaddrmap alone.
    const senders = contents.entries.filter(([, v]) => v.includes("@"));
    lines.push(
      `basedn: ${await addSubtree(
        s,
        ou,
        senders.map(([key, value]) =>
          `objectClass: inetOrgPerson\nsn: user\nuid: ${key}\n` +
          value.split(", ").map((m) => `mail: ${m}\n`).join("")
        ),
      )}`,
    );
    lines.push(
      "mailaddrmap_filter: (&(objectClass=inetOrgPerson)(uid=%s))",
      "mailaddrmap_attributes: mail",
    );
  } else if (name === "tags") {
    // table-ldap has no string service: the contract skips what the table cannot serve.
    lines.push(`basedn: ${await addSubtree(s, ou, [])}`);
    lines.push("domain_filter: (associatedDomain=%s)", "domain_attributes: associatedDomain");
  } else {
    const bodies = contents.entries.map(([key, value]) => {
      const parts = value.split(":");
      if (parts.length === 3) {
        return `objectClass: account\nobjectClass: posixAccount\nuid: ${key}\nuidNumber: ${
          parts[0]
        }\n` +
          `gidNumber: ${parts[1]}\nhomeDirectory: ${parts[2]}\n`;
      }
      if (parts.length === 2) {
        return `objectClass: account\nobjectClass: simpleSecurityObject\nobjectClass: extensibleObject\n` +
          `uid: ${key}\n` +
          `host: ${parts[0]}\nuserPassword: ${parts[1]}\n`;
      }
      return `objectClass: nisMailAlias\ncn: ${key}\n` +
        value.split(", ").map((m) => `rfc822MailMember: ${m}\n`).join("");
    });
    lines.push(`basedn: ${await addSubtree(s, ou, bodies)}`);
    lines.push(
      "alias_filter: (&(objectClass=nisMailAlias)(cn=%s))",
      "alias_attributes: rfc822MailMember",
      "userinfo_filter: (&(objectClass=posixAccount)(uid=%s))",
      "userinfo_attributes: uidNumber, gidNumber, homeDirectory",
      "credentials_filter: (&(objectClass=simpleSecurityObject)(uid=%s))",
      "credentials_attributes: host, userPassword",
    );
  }
  return await openLdapTable(name, await configFile(lines));
}

if (missing) {
  Deno.test({ name: `ldap table: skipped, ${missing}`, ignore: true, fn() {} });
} else {
  runTableContract("ldap", makeTable, { listsKeys: false, senderMaps: true });

  Deno.test("ldap table: an entry added or removed is seen by the next lookup; keys are escaped", async () => {
    const s = await slapd();
    const base = await addSubtree(s, "live", []);
    const table = await openLdapTable(
      "live",
      await configFile([
        `url ldap://127.0.0.1:${s.port}/`,
        `username ${LDAP_ADMIN}`,
        `password ${LDAP_PASSWORD}`,
        `basedn ${base}`,
        "mailaddr_filter (&(objectClass=inetOrgPerson)(mail=%s))",
        "mailaddr_attributes mail",
      ]),
    );
    try {
      const known = (key: string) => withTableLookups(() => table.match("mailaddr", key));
      assertEquals(await known("ann@new.example"), false);
      await s.add(
        `dn: cn=ann,${base}\nobjectClass: inetOrgPerson\ncn: ann\nsn: a\nmail: ann@new.example\n`,
      );
      assertEquals(await known("ANN@new.example"), true);
      // A key is a value in the filter, never filter syntax: `*` is no wildcard here.
      assertEquals(await known("*@new.example"), false);
      assertEquals(await known("a*"), false);
      await s.modify(`dn: cn=ann,${base}\nchangetype: delete\n`);
      assertEquals(await known("ann@new.example"), false);
    } finally {
      table.close();
    }
  });

  Deno.test("ldap table: a refused bind fails the lookup temporarily, never as a miss", async () => {
    const s = await slapd();
    const table = await openLdapTable(
      "badbind",
      await configFile([
        `url ldap://127.0.0.1:${s.port}`,
        `username ${LDAP_ADMIN}`,
        "password wrong",
        `basedn ${LDAP_SUFFIX}`,
        "domain_filter (associatedDomain=%s)",
        "domain_attributes associatedDomain",
      ]),
    );
    try {
      await assertRejects(
        async () => await withTableLookups(() => table.match("domain", "example.org")),
        Error,
        `Table "badbind": ldap ldap://127.0.0.1:${s.port} query failed: ` +
          `bind as ${LDAP_ADMIN} refused: invalid credentials (LDAP 49)`,
      );
    } finally {
      table.close();
    }
  });

  Deno.test("ldap table: a server that stops answering fails the lookup at the deadline", async () => {
    const s = await slapd();
    const base = await addSubtree(s, "slow", [
      "objectClass: organizationalRole\nobjectClass: domainRelatedObject\nassociatedDomain: example.org\n",
    ]);
    const table = await openLdapTable(
      "slow",
      await configFile([
        `url ldap://127.0.0.1:${s.port}`,
        `basedn ${base}`,
        "query_timeout 300ms",
        "domain_filter (associatedDomain=%s)",
        "domain_attributes associatedDomain",
      ]),
    );
    try {
      const domain = async () => await withTableLookups(() => table.match("domain", "example.org"));
      assertEquals(await domain(), true);
      try {
        await s.pause();
        const asked = Date.now();
        // What came back is named, so a lookup that did not fail says what it was.
        const got = await domain().then(
          (value) => `the answer ${value} after ${Date.now() - asked} ms`,
          (error: Error) => error.message,
        );
        assertStringIncludes(got, "did not answer within 300 ms");
      } finally {
        s.resume();
      }
      await waitFor(
        "the table to answer again",
        async () => (await domain().catch(() => false)) ? true : undefined,
      );
    } finally {
      table.close();
    }
  });

  Deno.test("ldap table: the last test stops the server", async () => {
    if (server) await (await server)[Symbol.asyncDispose]();
  });
}

Deno.test("parseLdapConfig() reads table_ldap.c files and names the line of a mistake", () => {
  const { config } = parseLdapConfig(
    "url: ldap://ldap.example.com\nusername: cn=smtpd,dc=example,dc=com\npassword: totalsecure\n" +
      "basedn: dc=example,dc=com\n# aliases\nalias_filter: (&(objectclass=person)(mail=%s))\n" +
      "alias_attributes: uid\nuserinfo_filter: (uid=%s)\n" +
      "userinfo_attributes: uidNumber, gidNumber, homedir\n",
  );
  assertEquals(config.url, "ldap://ldap.example.com");
  assertEquals(config.username, "cn=smtpd,dc=example,dc=com");
  assertEquals(config.basedn, "dc=example,dc=com");
  assertEquals([...config.queries.keys()], ["alias", "userinfo"]);
  assertEquals(config.queries.get("userinfo")?.attributes, ["uidNumber", "gidNumber", "homedir"]);
  assertEquals(escapeFilterValue("a*(b)\\"), "a\\2a\\28b\\29\\5c");
  const base = "url ldap://h\nbasedn dc=x\n";
  for (
    const [text, error] of [
      ["basedn dc=x\n", '"url" is missing'],
      ["url http://h\n", 'line 1: url: "http://h" is not ldap://'],
      [
        base + "credentials_filter (uid=%s)\ncredentials_attributes uid\n",
        "line 4: credentials_attributes: expected 2 attribute names",
      ],
      [base + "alias_filter (uid=%s)\n", "line 3: alias_filter without alias_attributes"],
      [
        base + "alias_filter (uid=x)\nalias_attributes uid\n",
        "line 3: alias_filter: the filter has no %s",
      ],
      [base + "addrname_filter (x=%s)\n", 'line 3: unknown key "addrname_filter"'],
      [base, "no *_filter"],
    ] as const
  ) {
    let message = "";
    try {
      parseLdapConfig(text);
    } catch (e) {
      message = String(e);
    }
    assertEquals(message.includes(error), true, `${JSON.stringify(text)} gave ${message}`);
  }
});

Deno.test("ldapResultText() names the result code and keeps the server's own words", () => {
  assertEquals(ldapResultText(new InvalidCredentialsError("")), "invalid credentials (LDAP 49)");
  assertEquals(
    ldapResultText(new InsufficientAccessError("no read access to userPassword")),
    "insufficient access rights (LDAP 50): no read access to userPassword",
  );
  assertEquals(ldapResultText(new UnknownStatusCodeError(4096, "")), "result (LDAP 4096)");
  assertEquals(
    new Set(Object.values(LDAP_RESULT_NAMES)).size,
    Object.keys(LDAP_RESULT_NAMES).length,
  );
});
