// The one interface every table backend implements: a set of keys, or a map from keys to
// values. Service-specific matching (domains, addresses, networks) lives in rules/.

/** What a table is consulted for (table(5) services). */
export type TableService =
  | "alias"
  | "domain"
  | "credentials"
  | "netaddr"
  | "userinfo"
  | "source"
  | "mailaddr"
  | "mailaddrmap"
  | "addrname"
  | "relayhost";

/** A loaded table. Keys are compared as stored; callers normalise case where the service says so. */
export interface Table {
  readonly name: string;
  /** "list" tables hold keys only; "map" tables hold key → value. */
  readonly shape: "list" | "map";
  /** True when the key is present. */
  has(key: string): boolean;
  /** The value stored for the key (for lists, the key itself when present). */
  get(key: string): string | undefined;
  /** Every key, for services that must scan (wildcards, networks). */
  keys(): Iterable<string>;
}
