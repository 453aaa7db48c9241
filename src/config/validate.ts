// Checks a parsed model as a whole: references resolve to declarations, and warnings for
// what is legal but likely a mistake (an unused action, a rule after a catch-all).

import type { Diagnostic } from "./errors.ts";
import { parseRelayTarget } from "./relay_url.ts";
import { listenerPkiNames } from "./listener_pki.ts";
import { type Config, type Criterion, type TableRef, TLS_POLICY_LEVELS } from "./model.ts";
import { parseNetBlock } from "../net/mod.ts";
import { validateFilters } from "./validate_filters.ts";

/**
 * OpenSMTPD's implicit tables (config.c) and what stands for each: they exist only behind
 * these words, and naming one (`<getpwnam>`) is "no such table" to OpenSMTPD too.
 */
const IMPLICIT_TABLES: Readonly<Record<string, string>> = {
  localhost: "write `from local`",
  anyhost: "write `from any`",
  localnames: "write `for local`",
  anydestination: "write `for any`",
  getpwnam: "without userbase, the system's accounts are used",
};

/** Appends the problems of a model to the diagnostics. */
export function validateConfig(config: Config, diagnostics: Diagnostic[]): void {
  validateFilters(config, diagnostics);
  const tables = new Set(config.tables.map((t) => t.name));
  const tableDecls = new Map(config.tables.map((t) => [t.name, t] as const));
  const actions = new Set(config.actions.map((a) => a.name));
  const error = (message: string, position: Diagnostic["position"]) =>
    diagnostics.push({ severity: "error", message, position });
  const warn = (message: string, position: Diagnostic["position"]) =>
    diagnostics.push({ severity: "warning", message, position });

  // Inline networks are checked now; file tables when they are loaded.
  // Each bad entry is named once, where it is written (else where the table is used).
  const badEntries = new Set<string>();
  const checkAddresses = (ref: TableRef) => {
    const decl = tableDecls.get(ref.name);
    if (decl?.source.kind !== "list") return;
    const { values, positions } = decl.source;
    values.forEach((value, n) => {
      if (parseNetBlock(value)) return;
      const position = positions?.[n] ?? ref.position;
      const key = `${position.file}:${position.line}:${position.column}:${value}`;
      if (badEntries.has(key)) return;
      badEntries.add(key);
      error(`Bad address or network "${value}": expected an IP address or CIDR block`, position);
    });
  };
  const checkTable = (ref: { name: string; position: Diagnostic["position"] } | undefined) => {
    if (ref && !tables.has(ref.name)) {
      const implicit = IMPLICIT_TABLES[ref.name];
      error(
        implicit
          ? `Undefined table "${ref.name}": OpenSMTPD's built-in <${ref.name}> cannot be named in smtpd.conf; ${implicit}`
          : `Undefined table "${ref.name}": no table of that name is declared`,
        ref.position,
      );
    }
  };
  // An inline list where a mapping is needed can never answer: say so now.
  const needsMap = (ref: TableRef | undefined, use: string) => {
    if (!ref) return;
    checkTable(ref);
    const decl = tableDecls.get(ref.name);
    if (decl?.source.kind === "list") {
      const name = decl.anonymous ? "This inline table" : `Table "${decl.name}"`;
      error(`${name} is a list and cannot be used for ${use} lookups`, ref.position);
    }
  };
  const pkis = new Set(config.pkis.map((p) => p.name));
  const cas = new Set(config.cas.map((c) => c.name));
  const filters = new Set(config.filters.map((f) => f.name));
  const checkName = (
    kind: string,
    known: ReadonlySet<string>,
    name: string | undefined,
    position: Diagnostic["position"],
  ) => {
    if (name !== undefined && !known.has(name)) {
      error(`Undefined ${kind} "${name}": no ${kind} of that name is declared`, position);
    }
  };
  for (const pki of config.pkis) {
    if (!pki.cert || !pki.key) {
      error(`pki "${pki.name}" needs both a cert and a key`, pki.position);
    }
  }
  for (const listener of config.listeners) {
    for (const pki of listener.pki ?? []) checkName("pki", pkis, pki, listener.position);
    checkName("ca", cas, listener.ca, listener.position);
    for (const filter of listener.filters ?? []) {
      checkName("filter", filters, filter, listener.position);
    }
    needsMap(listener.auth?.table, "credentials");
    needsMap(listener.senders?.table, "mailaddrmap");
    needsMap(listener.hostnames, "addrname");
    if (listener.auth && !listener.tls && listener.address !== "socket") {
      error("auth requires tls or smtps on the same listener", listener.position);
    }
    // Without `pki` the pki named after the listener's hostname (or "*") is presented.
    if (listener.tls && listenerPkiNames(config, listener).length === 0) {
      const named = listener.hostname === undefined
        ? "the server's name"
        : `"${listener.hostname}"`;
      warn(
        `tls without a pki, and no pki named ${named} or "*": name a certificate with pki NAME`,
        listener.position,
      );
    }
  }
  for (const action of config.actions) {
    needsMap(action.alias, "alias");
    needsMap(action.virtual, "alias");
    needsMap(action.userbase, "userinfo");
    const m = action.method;
    if (m.kind === "relay") {
      needsMap(m.auth, "credentials");
      needsMap(m.heloSrc, "addrname");
      needsMap(m.domain, "relayhost");
      needsMap(m.tlsPolicy, "tls-policy");
      checkTable(m.src);
      // Levels of an inline `tls-policy` table are known now: a misspelt one is said.
      const levels = m.tlsPolicy ? tableDecls.get(m.tlsPolicy.name) : undefined;
      if (levels?.source.kind === "map") {
        for (const [destination, level] of levels.source.entries) {
          if (!(TLS_POLICY_LEVELS as readonly string[]).includes(level.toLowerCase())) {
            error(
              `tls-policy "${level}" for "${destination}" is not one of ${
                TLS_POLICY_LEVELS.join(", ")
              }`,
              levels.position,
            );
          }
        }
      }
      // Relay URLs of an inline `domain` table are known now: one that could not work is said.
      const routes = m.domain ? tableDecls.get(m.domain.name) : undefined;
      if (routes?.source.kind === "map") {
        for (const [domain, url] of routes.source.entries) {
          const target = parseRelayTarget(url);
          if (typeof target === "string") {
            error(`${target} (for domain "${domain}")`, routes.position);
          }
        }
      }
      checkName("pki", pkis, m.pki, action.position);
      checkName("ca", cas, m.ca, action.position);
      for (const filter of m.filters ?? []) checkName("filter", filters, filter, action.position);
      // Without a key no SRS address can be signed, nor a returning one checked.
      if (m.srs && config.srs?.key === undefined) {
        error('relay option "srs" needs a key: add `srs key SECRET`', action.position);
      }
    }
    if (action.wrapper !== undefined && !config.mdaWrappers.has(action.wrapper)) {
      error(`Undefined mda wrapper "${action.wrapper}"`, action.position);
    }
  }
  const used = new Set<string>();
  const refused = new Set(config.refusedActions);
  let catchAll: Diagnostic["position"] | undefined;
  for (const match of config.matches) {
    for (const c of match.criteria) {
      checkTable(c.table);
      if (c.kind === "from-src" && c.table && !c.regex) checkAddresses(c.table);
    }
    if (catchAll) {
      warn(
        `This match can never be reached: the match at line ${catchAll.line} matches everything`,
        match.position,
      );
    }
    if (match.decision.kind === "action") {
      used.add(match.decision.action);
      if (!actions.has(match.decision.action) && !refused.has(match.decision.action)) {
        error(
          `Undefined action "${match.decision.action}": no action of that name is declared`,
          match.decision.position ?? match.position,
        );
      }
    }
    if (!catchAll && isCatchAll(match.criteria)) catchAll = match.position;
  }
  for (const action of config.actions) {
    if (!used.has(action.name)) warn(`Action "${action.name}" is never used`, action.position);
  }
}

// `from any for any` with nothing else matches every envelope.
function isCatchAll(criteria: readonly Criterion[]): boolean {
  const kinds = criteria.map((c) => (c.negated ? "!" : "") + c.kind).sort();
  return kinds.length === 2 && kinds[0] === "for-any" && kinds[1] === "from-any";
}
