// Checks a parsed model as a whole: references resolve to declarations, and warnings for
// what is legal but likely a mistake (an unused action, a rule after a catch-all).

import type { Diagnostic } from "./errors.ts";
import type { Config, Criterion } from "./model.ts";

/** Appends the problems of a model to the diagnostics. */
export function validateConfig(config: Config, diagnostics: Diagnostic[]): void {
  const tables = new Set(config.tables.map((t) => t.name));
  const actions = new Set(config.actions.map((a) => a.name));
  const error = (message: string, position: Diagnostic["position"]) =>
    diagnostics.push({ severity: "error", message, position });
  const warn = (message: string, position: Diagnostic["position"]) =>
    diagnostics.push({ severity: "warning", message, position });

  const checkTable = (ref: { name: string; position: Diagnostic["position"] } | undefined) => {
    if (ref && !tables.has(ref.name)) {
      error(`Undefined table "${ref.name}": no table of that name is declared`, ref.position);
    }
  };
  for (const action of config.actions) {
    checkTable(action.alias);
    checkTable(action.virtual);
    checkTable(action.userbase);
  }
  const used = new Set<string>();
  let catchAll: Diagnostic["position"] | undefined;
  for (const match of config.matches) {
    for (const c of match.criteria) checkTable(c.table);
    if (catchAll) {
      warn(
        `This match can never be reached: the match at line ${catchAll.line} matches everything`,
        match.position,
      );
    }
    if (match.decision.kind === "action") {
      used.add(match.decision.action);
      if (!actions.has(match.decision.action)) {
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
