// Which services a table can serve: list tables hold keys only and cannot answer the
// services that need a value (table(5)). Config validation reports the mismatch.

import type { Table, TableService } from "./table.ts";

/** Services whose answer is a value, which only map tables hold. */
export const MAP_SERVICES: ReadonlySet<TableService> = new Set<TableService>([
  "alias",
  "credentials",
  "userinfo",
  "mailaddrmap",
  "addrname",
  "relayhost",
]);

/** True when the table can be used for the service's lookups. */
export function servesService(table: Table, service: TableService): boolean {
  if (table.serves) return table.serves(service);
  return table.shape === "map" || !MAP_SERVICES.has(service);
}

/**
 * The reason a table cannot serve a service, or undefined when it can.
 *
 * @example
 * ```ts
 * import { StaticTable } from "./static.ts";
 * const domains = StaticTable.fromList("domains", ["example.org"]);
 * serviceRefusal(domains, "alias"); // 'table "domains" cannot be used for alias lookups'
 * ```
 */
export function serviceRefusal(table: Table, service: TableService): string | undefined {
  if (servesService(table, service)) return undefined;
  return `table "${table.name}" cannot be used for ${service} lookups`;
}
