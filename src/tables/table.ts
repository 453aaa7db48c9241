// The one interface every table backend implements. A table answers, for a service
// (table(5)), whether a key matches and what value a key maps to.

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
  | "relayhost"
  | "string";

/** A loaded table. */
export interface Table {
  readonly name: string;
  /** "list" tables hold keys only; "map" tables hold key → value. */
  readonly shape: "list" | "map";
  /**
   * True when the key matches an entry under the service's rules: `domain` is
   * case-insensitive with `*.` wildcards of exactly one label; `mailaddr` accepts `user`,
   * `@domain` and `user@domain` entries (an entry without `+tag` matches tagged addresses;
   * the null sender "" matches nothing); `netaddr`/`source` match addresses against
   * addresses and CIDR blocks; `string` compares case-insensitively.
   */
  match(service: TableService, key: string): boolean;
  /** The value stored for the key, for map services (alias, credentials, userinfo…). */
  lookup(service: TableService, key: string): string | undefined;
  /** Every key (small tables; some backends may refuse). */
  keys(): Iterable<string>;
  /**
   * Whether the table can answer lookups for the service. Backends whose abilities do not
   * follow from their shape (an sqlite table serves the services it has queries for)
   * implement it; otherwise {@link servesService} decides from the shape.
   */
  serves?(service: TableService): boolean;
  /** The 1-based line of the source file the key was read from, where the format has lines. */
  lineOf?(key: string): number | undefined;
  /** Releases what the table holds open (database handles). */
  close?(): void;
}
