// Mail for virtual users, aliases and credentials stored in a real slapd.

import {
  kvServersMissing,
  LDAP_ADMIN,
  LDAP_PASSWORD,
  LDAP_SUFFIX,
  startSlapd,
} from "../_kv_servers.ts";
import { kvSiteTests } from "./_kv_tables.ts";

const missing = kvServersMissing();
if (missing) {
  Deno.test({ name: `ldap tables end to end: skipped, ${missing}`, ignore: true, fn() {} });
} else {
  kvSiteTests("ldap", async () => {
    const server = await startSlapd();
    await server.add(`dn: ou=mail,${LDAP_SUFFIX}\nobjectClass: organizationalUnit\nou: mail\n`);
    const base = `ou=mail,${LDAP_SUFFIX}`;
    return {
      backend: "ldap",
      server,
      tableLines: [
        `url: ldap://127.0.0.1:${server.port}`,
        `username: ${LDAP_ADMIN}`,
        `password: ${LDAP_PASSWORD}`,
        `basedn: ${base}`,
        "query_timeout: 2s",
        "domain_filter: (&(objectClass=domainRelatedObject)(associatedDomain=%s))",
        "domain_attributes: associatedDomain",
        "alias_filter: (&(objectClass=nisMailAlias)(cn=%s))",
        "alias_attributes: rfc822MailMember",
        "userinfo_filter: (&(objectClass=posixAccount)(uid=%s))",
        "userinfo_attributes: uidNumber, gidNumber, homeDirectory",
        "credentials_filter: (&(objectClass=posixAccount)(uid=%s))",
        "credentials_attributes: uid, userPassword",
      ],
      addDomain: (domain) =>
        server.add(
          `dn: cn=${domain},${base}\nobjectClass: organizationalRole\n` +
            `objectClass: domainRelatedObject\ncn: ${domain}\nassociatedDomain: ${domain}\n`,
        ),
      addVirtual: (address, targets) =>
        server.add(
          `dn: cn=${address},${base}\nobjectClass: nisMailAlias\ncn: ${address}\n` +
            targets.map((t) => `rfc822MailMember: ${t}\n`).join(""),
        ),
      addUser: (user, uid, gid, home, hash) =>
        server.add(
          `dn: uid=${user},${base}\nobjectClass: account\nobjectClass: posixAccount\n` +
            `uid: ${user}\ncn: ${user}\nuidNumber: ${uid}\ngidNumber: ${gid}\n` +
            `homeDirectory: ${home}\nuserPassword: ${hash}\n`,
        ),
    };
  });
}
