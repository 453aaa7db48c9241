// Checks the filter declarations as a whole (procs and chain members resolve, chains do
// not nest, builtin conditions name declared tables) and warns for every statement that
// is accepted for compatibility but has no effect.

import type { Diagnostic } from "./errors.ts";
import type { Config } from "./model.ts";

const EARLY_PHASES: readonly string[] = ["connect", "helo", "ehlo", "mail-from"];
// Phases whose command has no argument a `rewrite` could replace (smtpd-filters(7)).
const NOTHING_TO_REWRITE: readonly string[] = ["connect", "data", "commit"];

/** Appends the filter problems and the ignored-statement warnings to the diagnostics. */
export function validateFilters(config: Config, diagnostics: Diagnostic[]): void {
  const error = (message: string, position: Diagnostic["position"]) =>
    diagnostics.push({ severity: "error", message, position });
  const byName = new Map(config.filters.map((f) => [f.name, f]));
  const procs = new Set(config.procs.map((p) => p.name));
  const tables = new Set(config.tables.map((t) => t.name));
  const seen = new Set<string>();
  for (const filter of config.filters) {
    if (seen.has(filter.name)) error(`Filter "${filter.name}" is declared twice`, filter.position);
    seen.add(filter.name);
    const spec = filter.spec;
    if (spec.kind === "proc" && !procs.has(spec.proc)) {
      error(`Undefined proc "${spec.proc}": no proc of that name is declared`, filter.position);
    }
    if (spec.kind === "chain") {
      for (const member of spec.filters) {
        const target = byName.get(member);
        if (!target) {
          error(`Undefined filter "${member}" in chain "${filter.name}"`, filter.position);
        } else if (target.spec.kind === "chain") {
          error(
            `Chain "${filter.name}" names chain "${member}": chains do not nest`,
            filter.position,
          );
        }
      }
    }
    if (spec.kind === "phase") {
      for (const c of spec.conditions) {
        if (c.table && !tables.has(c.table.name)) {
          error(
            `Undefined table "${c.table.name}": no table of that name is declared`,
            c.table.position,
          );
        }
      }
    }
  }
  // A rule's filters start once the rule is known: at the recipient it accepts.
  const early = (name: string): string | undefined => {
    const spec = byName.get(name)?.spec;
    if (spec?.kind === "phase" && EARLY_PHASES.includes(spec.phase)) return spec.phase;
    if (spec?.kind === "chain") return spec.filters.map(early).find((p) => p !== undefined);
    return undefined;
  };
  for (const match of config.matches) {
    for (const name of match.filters ?? []) {
      if (!byName.has(name)) {
        error(`Undefined filter "${name}": no filter of that name is declared`, match.position);
        continue;
      }
      const phase = early(name);
      if (phase) {
        error(
          `Filter "${name}" works at phase ${phase}, before a rule is chosen: use it on the listener`,
          match.position,
        );
      }
    }
  }
  warnWithoutEffect(config, diagnostics);
  for (const ignored of config.ignored ?? []) {
    diagnostics.push({
      severity: "warning",
      message: `"${ignored.what}" is accepted and has no effect here`,
      position: ignored.position,
    });
  }
}

// Declarations that parse but would change nothing: a filter no listener, rule or chain
// names (its process would run, with no mail through it), a proc no filter names (never
// started), a builtin `rewrite` at a phase without an argument.
function warnWithoutEffect(config: Config, diagnostics: Diagnostic[]): void {
  const warn = (message: string, position: Diagnostic["position"]) =>
    diagnostics.push({ severity: "warning", message, position });
  const used = new Set<string>([
    ...config.listeners.flatMap((l) => l.filters ?? []),
    ...config.matches.flatMap((m) => m.filters ?? []),
    ...config.filters.flatMap((f) => f.spec.kind === "chain" ? f.spec.filters : []),
    // `relay filter` (smtp-out) has a warning of its own where it is written.
    ...config.actions.flatMap((a) => a.method.kind === "relay" ? a.method.filters ?? [] : []),
  ]);
  const procs = new Set(config.filters.flatMap((f) => f.spec.kind === "proc" ? [f.spec.proc] : []));
  for (const filter of config.filters) {
    if (!used.has(filter.name)) {
      warn(
        `Filter "${filter.name}" is declared but no listener, rule or chain uses it: no mail goes through it`,
        filter.position,
      );
    }
    const spec = filter.spec;
    if (
      spec.kind === "phase" && spec.decision.kind === "rewrite" &&
      NOTHING_TO_REWRITE.includes(spec.phase)
    ) {
      warn(
        `Filter "${filter.name}": "rewrite" has no effect at phase ${spec.phase}, which has no argument to rewrite`,
        filter.position,
      );
    }
  }
  for (const proc of config.procs) {
    if (!procs.has(proc.name)) {
      warn(
        `Proc "${proc.name}" is declared but no filter uses it: it is not started`,
        proc.position,
      );
    }
  }
}
