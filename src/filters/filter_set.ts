// The filters a configuration declares, running: proc-exec processes started (as their
// own user when the daemon is root), builtin filters built over the tables, chains
// resolved, and the plan each listener's sessions follow.

import type { Config, FilterDecl } from "../config/mod.ts";
import type { Logger } from "../log/mod.ts";
import type { SystemUser, Table } from "../tables/mod.ts";
import { type BuiltinCondition, builtinFilter } from "./builtin.ts";
import type { FilterPlan } from "./chain.ts";
import type { ChainFilter, FilterPhase } from "./hook.ts";
import {
  type FilterProcess,
  type FilterSpawnRequest,
  type ProcFilter,
  startProcFilter,
} from "./proc_filter.ts";

/** Options of {@link startFilterSet}. */
export interface FilterSetOptions {
  readonly config: Config;
  /** A declared table by name. */
  table(name: string): Table | undefined;
  /** A system account by name (for `user U` and the default `_smtpd`). */
  lookupUser(name: string): Promise<SystemUser | undefined>;
  /** A group id by name (`group G`). */
  lookupGroup?(name: string): Promise<number | undefined>;
  /** True when the daemon runs as root: filters then never run as root. */
  readonly asRoot: boolean;
  readonly sessionTimeoutSeconds: number;
  /** The authserv-id filters are told (`admd`, else the server's name). */
  readonly admd: string;
  /** A query unanswered this long fails the session and restarts the filter. */
  readonly queryTimeoutMs?: number;
  /** Filters implemented in TypeScript, by the name a `filter NAME` chain or listener uses. */
  readonly extra?: readonly ChainFilter[];
  readonly spawn?: (request: FilterSpawnRequest) => FilterProcess | Promise<FilterProcess>;
  readonly log: Logger;
}

/** The running filters. */
export interface FilterSet {
  /** The plan for a listener's `filter` option; undefined when it has none. */
  planFor(names: readonly string[] | undefined): FilterPlan | undefined;
  /** The proc-exec filters, by name (their pid, for an operator or a test). */
  readonly processes: ReadonlyMap<string, ProcFilter>;
  close(): Promise<void>;
}

/** The user filters run as when the daemon is root and none is configured. */
export const DEFAULT_FILTER_USER = "_smtpd";

/** Starts every declared filter; rejects (and stops those started) when one cannot start. */
export async function startFilterSet(options: FilterSetOptions): Promise<FilterSet> {
  const { config, log } = options;
  const byName = new Map<string, ChainFilter>();
  const processes = new Map<string, ProcFilter>();
  for (const filter of options.extra ?? []) byName.set(filter.name, filter);
  const close = () => Promise.all([...processes.values()].map((p) => p.close())).then(() => {});
  try {
    for (const decl of config.filters) {
      const built = await buildFilter(decl, options);
      if (!built) continue;
      byName.set(decl.name, built);
      if (built.kind === "proc") processes.set(decl.name, built as ProcFilter);
    }
  } catch (error) {
    await close();
    throw error;
  }
  const chains = new Map(
    config.filters.flatMap((f) => f.spec.kind === "chain" ? [[f.name, f.spec.filters]] : []),
  );
  const resolve = (name: string): ChainFilter[] =>
    (chains.get(name) ?? [name]).map((n) => {
      const filter = byName.get(n);
      if (!filter) throw new Error(`Filter "${n}" is not running`);
      return filter;
    });
  const expand = (names: readonly string[]) => [...new Set(names.flatMap(resolve))];
  // Each rule's chain by the key the verdict carries (its names, joined).
  const rules = new Map<string, readonly ChainFilter[]>();
  for (const match of config.matches) {
    if (match.filters && match.filters.length > 0) {
      rules.set(match.filters.join(","), expand(match.filters));
    }
  }
  return {
    processes,
    planFor(names) {
      const listener = expand(names ?? []);
      if (listener.length === 0 && rules.size === 0) return undefined;
      log.debug(`filters: chain ${listener.map((f) => f.name).join(", ") || "(rules only)"}`);
      return { listener, rules };
    },
    close,
  };
}

async function buildFilter(
  decl: FilterDecl,
  options: FilterSetOptions,
): Promise<ChainFilter | undefined> {
  const spec = decl.spec;
  switch (spec.kind) {
    case "chain":
      return undefined;
    // Implemented outside this box and handed in through `extra` (src/mail_auth).
    case "dkim-sign":
    case "auth-verify":
      return undefined;
    case "phase": {
      const conditions: BuiltinCondition[] = spec.conditions.map((c) => {
        const table = c.table ? options.table(c.table.name) : undefined;
        if (c.table && !table) {
          throw new Error(`Filter "${decl.name}": table "${c.table.name}" is not loaded`);
        }
        return { kind: c.kind, negated: c.negated, regex: c.regex, ...(table ? { table } : {}) };
      });
      return builtinFilter({
        name: decl.name,
        phase: spec.phase as FilterPhase,
        conditions,
        decision: spec.decision,
      });
    }
    case "proc":
    case "proc-exec": {
      const proc = spec.kind === "proc"
        ? options.config.procs.find((p) => p.name === spec.proc)!
        : spec;
      const ids = await filterIds(decl.name, proc, options);
      return await startProcFilter({
        name: decl.name,
        command: proc.command,
        ...ids,
        sessionTimeoutSeconds: options.sessionTimeoutSeconds,
        admd: options.admd,
        queryTimeoutMs: options.queryTimeoutMs ?? 5 * 60_000,
        log: options.log,
        ...(options.spawn ? { spawn: options.spawn } : {}),
      });
    }
  }
}

/**
 * The uid and gid a filter runs as, and that user's name and home. As root: its `user`
 * (default _smtpd), with that user's group or its `group`, never root. Not root: the
 * daemon's own (nothing to change).
 */
export async function filterIds(
  name: string,
  proc: { readonly user?: string; readonly group?: string },
  options: Pick<FilterSetOptions, "asRoot" | "lookupUser" | "lookupGroup"> & {
    readonly log?: Logger;
  },
): Promise<{ uid?: number; gid?: number; user?: string; home?: string }> {
  if (!options.asRoot) {
    // Only root can start a process as another user: say so rather than ignore it.
    if (proc.user !== undefined || proc.group !== undefined) {
      options.log?.warn(
        `filter ${name}: runs as the daemon's own user; its user and group apply only when the daemon is root`,
      );
    }
    return {};
  }
  const userName = proc.user ?? DEFAULT_FILTER_USER;
  const user = await options.lookupUser(userName);
  if (!user) throw new Error(`Filter "${name}": no user "${userName}" to run it as`);
  if (user.uid === 0) throw new Error(`Filter "${name}": filters never run as root`);
  let gid = user.gid;
  if (proc.group !== undefined) {
    const found = await options.lookupGroup?.(proc.group);
    if (found === undefined) throw new Error(`Filter "${name}": no group "${proc.group}"`);
    gid = found;
  }
  return { uid: user.uid, gid, user: user.name, home: user.home };
}
