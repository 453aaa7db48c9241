// The configuration file of an ldap table, as table_ldap.c of OpenSMTPD-extras reads it:
// url, bind username and password, basedn, ca_file, and a filter (`%s` is the key) with
// its attributes for each service.

import { TableContentError } from "./table_error.ts";
import {
  type ConfigEntry,
  LIMIT_KEYS,
  parseConfigEntries,
  refuseUnknownKeys,
} from "./network/network_config.ts";
import type { TableService } from "./table.ts";

/** One service's search: the filter and the attributes read from each entry found. */
export interface LdapQuery {
  readonly filter: string;
  readonly attributes: readonly string[];
}

/** An ldap table's configuration. */
export interface LdapConfig {
  /** `ldap://host[:port]` or `ldaps://host[:port]`. */
  readonly url: string;
  readonly username?: string;
  readonly password?: string;
  readonly basedn: string;
  /** CA certificates (PEM) for an `ldaps://` server, from `ca_file`. */
  readonly caFile?: string;
  readonly queries: ReadonlyMap<TableService, LdapQuery>;
}

/**
 * The services table_ldap.c answers, with the number of attributes each expects; `source`
 * (`source_filter`, `source_attributes`) is this project's addition, read like `netaddr`.
 */
export const LDAP_ATTRIBUTE_COUNTS: Readonly<Partial<Record<TableService, number>>> = {
  alias: 1,
  domain: 1,
  credentials: 2,
  netaddr: 1,
  userinfo: 3,
  mailaddr: 1,
  mailaddrmap: 1,
  source: 1,
};

const SERVICES = Object.keys(LDAP_ATTRIBUTE_COUNTS) as TableService[];

/** Keys an ldap table file may hold; the limit keys are shared by every network table. */
export const LDAP_KEYS: ReadonlySet<string> = new Set([
  "url",
  "username",
  "password",
  "basedn",
  "ca_file",
  ...SERVICES.flatMap((s) => [`${s}_filter`, `${s}_attributes`]),
  ...LIMIT_KEYS,
]);

/** Reads an ldap table file; what table_ldap.c would warn about and skip is an error. */
export function parseLdapConfig(
  text: string,
): { config: LdapConfig; entries: Map<string, ConfigEntry> } {
  const entries = parseConfigEntries(text);
  refuseUnknownKeys(entries, LDAP_KEYS);
  const url = entries.get("url");
  if (!url) throw new TableContentError(`"url" is missing (ldap://host or ldaps://host)`);
  if (!/^ldaps?:\/\/[^/\s]+\/?$/i.test(url.value)) {
    throw new TableContentError(
      `url: "${url.value}" is not ldap://host[:port] or ldaps://host[:port]`,
      url.line,
    );
  }
  const basedn = entries.get("basedn");
  if (!basedn) throw new TableContentError(`"basedn" is missing`);
  const username = entries.get("username")?.value;
  const password = entries.get("password")?.value;
  if ((username === undefined) !== (password === undefined)) {
    const given = entries.get("username") ?? entries.get("password");
    throw new TableContentError(`"username" and "password" go together`, given?.line);
  }
  const queries = new Map<TableService, LdapQuery>();
  for (const service of SERVICES) {
    const filter = entries.get(`${service}_filter`);
    const attributes = entries.get(`${service}_attributes`);
    if (!filter && !attributes) continue;
    if (!filter) {
      throw new TableContentError(
        `${service}_attributes without ${service}_filter`,
        attributes!.line,
      );
    }
    if (!attributes) {
      throw new TableContentError(`${service}_filter without ${service}_attributes`, filter.line);
    }
    const names = attributes.value.split(",").map((a) => a.trim());
    const expected = LDAP_ATTRIBUTE_COUNTS[service]!;
    if (names.length !== expected || names.some((n) => !/^[A-Za-z][\w-]*$/.test(n))) {
      throw new TableContentError(
        `${service}_attributes: expected ${expected} attribute name${
          expected > 1 ? "s" : ""
        } separated by ",", got "${attributes.value}"`,
        attributes.line,
      );
    }
    if (!filter.value.includes("%s")) {
      throw new TableContentError(
        `${service}_filter: the filter has no %s for the key`,
        filter.line,
      );
    }
    queries.set(service, { filter: filter.value, attributes: names });
  }
  if (queries.size === 0) {
    throw new TableContentError(`no *_filter: the table would answer nothing`);
  }
  const caFile = entries.get("ca_file")?.value;
  const config: LdapConfig = {
    url: url.value,
    ...(username === undefined ? {} : { username, password: password! }),
    basedn: basedn.value,
    ...(caFile === undefined ? {} : { caFile }),
    queries,
  };
  return { config, entries };
}

/** The key as an LDAP filter value (RFC 4515 section 3): `*`, `(`, `)`, `\` and NUL escaped. */
export function escapeFilterValue(key: string): string {
  return key.replace(/[\\*()\0]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

/** The service's filter with every `%s` replaced by the escaped key. */
export function ldapFilter(query: LdapQuery, key: string): string {
  // A function, so that "$&", "$'" and the like in the key are the key's own characters:
  // a string replacement would read them as patterns and write filter syntax.
  const escaped = escapeFilterValue(key);
  return query.filter.replaceAll("%s", () => escaped);
}
