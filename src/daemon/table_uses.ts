// Every place a configuration uses a table, with the service it is consulted for, so a
// table that cannot serve its use (a list where a mapping is needed) stops the start.

import { type Config, formatPosition, type TableRef } from "../config/mod.ts";
import { CRITERION_SERVICES } from "../rules/mod.ts";
import { serviceRefusal, type TableService, type TableSet } from "../tables/mod.ts";

/** One use of a table. */
export interface TableUse {
  readonly ref: TableRef;
  readonly service: TableService;
}

/** Lists the table uses of a configuration. */
export function tableUses(config: Config): TableUse[] {
  const uses: TableUse[] = [];
  const use = (ref: TableRef | undefined, service: TableService) => {
    if (ref) uses.push({ ref, service });
  };
  for (const l of config.listeners) {
    use(l.auth?.table, "credentials");
    use(l.senders?.table, "mailaddrmap");
    use(l.hostnames, "addrname");
  }
  for (const a of config.actions) {
    use(a.alias, "alias");
    use(a.virtual, "alias");
    use(a.userbase, "userinfo");
    if (a.method.kind === "relay") {
      use(a.method.auth, "credentials");
      use(a.method.heloSrc, "addrname");
      use(a.method.domain, "relayhost");
      use(a.method.tlsPolicy, "relayhost");
      use(a.method.src, "source");
    }
  }
  for (const m of config.matches) {
    for (const c of m.criteria) {
      if (c.table && !c.regex) use(c.table, CRITERION_SERVICES[c.kind] ?? "string");
    }
  }
  return uses;
}

/** Throws, naming file:line:column, when an opened table cannot serve one of its uses. */
export function checkTableUses(config: Config, tables: TableSet): void {
  const problems: string[] = [];
  for (const { ref, service } of tableUses(config)) {
    const table = tables.get(ref.name);
    const refusal = table && serviceRefusal(table, service);
    if (refusal) problems.push(`${formatPosition(ref.position)}: ${refusal}`);
  }
  if (problems.length > 0) throw new Error(problems.join("\n"));
}
