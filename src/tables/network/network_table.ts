// A table answered by a server over the network (PostgreSQL, MySQL, Redis, LDAP): one
// query per service and key, run through the backend's guard (pool bound, deadline,
// health) and read synchronously through the decision's lookup scope.

import { BackendGuard, type BackendGuardOptions } from "./backend_guard.ts";
import { AnswerCache } from "./answer_cache.ts";
import {
  countNetworkTable,
  currentLookupScope,
  LookupPending,
  type ScopedAnswer,
} from "./lookup_scope.ts";
import { matchDomainKey, matchMailaddrKey } from "../key_match.ts";
import { matchNetaddrByText } from "../netaddr_text.ts";
import type { Table, TableService } from "../table.ts";

/** Rows of one answer, each the texts of its columns. */
export type Rows = readonly (readonly string[])[];

/** What a network backend does: run the query of a service for one key. */
export interface NetworkBackend {
  /** Whether the configuration has a query for the service. */
  serves(service: TableService): boolean;
  /** Runs the service's query with the key; the signal aborts at the deadline. */
  query(service: TableService, key: string, signal: AbortSignal): Promise<Rows>;
  /** True when the failure means the server cannot be reached (not a bad query). */
  isUnreachable(error: unknown): boolean;
  /** Closes the backend's connections. */
  close(): Promise<void>;
  /**
   * Drops the client and its connections for new ones (what was in flight fails): a
   * probe of a server that was down found it silent, and the client may be the cause.
   */
  reset?(): void;
}

/** Options of {@link NetworkTable}. */
export interface NetworkTableOptions
  extends Pick<BackendGuardOptions, "server" | "poolSize" | "timeoutMs" | "log"> {
  /** Keep answers this long (0: no cache, every lookup asks the server). */
  readonly cacheTtlMs: number;
  /** Backoff bounds of the reconnection probes. */
  readonly backoffMinMs?: number;
  readonly backoffMaxMs?: number;
}

const MAP_SERVICES: readonly TableService[] = [
  "alias",
  "credentials",
  "userinfo",
  "mailaddrmap",
  "addrname",
];

/** A table whose answers come from a {@link NetworkBackend}. */
export class NetworkTable implements Table {
  readonly name: string;
  readonly shape: "list" | "map";
  readonly #backend: NetworkBackend;
  readonly #guard: BackendGuard;
  readonly #cache: AnswerCache<Rows> | undefined;
  #closed = false;

  constructor(name: string, backend: NetworkBackend, options: NetworkTableOptions) {
    this.name = name;
    this.#backend = backend;
    this.shape = MAP_SERVICES.some((s) => backend.serves(s)) ? "map" : "list";
    this.#guard = new BackendGuard({
      table: name,
      server: options.server,
      poolSize: options.poolSize,
      timeoutMs: options.timeoutMs,
      isUnreachable: (error) => backend.isUnreachable(error),
      onProbeTimeout: () => backend.reset?.(),
      log: options.log,
      ...(options.backoffMinMs === undefined ? {} : { backoffMinMs: options.backoffMinMs }),
      ...(options.backoffMaxMs === undefined ? {} : { backoffMaxMs: options.backoffMaxMs }),
    });
    this.#cache = options.cacheTtlMs > 0 ? new AnswerCache(options.cacheTtlMs) : undefined;
    countNetworkTable(1);
  }

  serves(service: TableService): boolean {
    return this.#backend.serves(service);
  }

  match(service: TableService, key: string): boolean {
    this.#refuseUnserved(service);
    // Every key the rule probes is asked at once, so a miss costs one round trip.
    let missing: LookupPending | undefined;
    const has = (k: string) => {
      try {
        return this.#rows(service, k).length > 0;
      } catch (error) {
        if (!(error instanceof LookupPending)) throw error;
        missing = error;
        return false;
      }
    };
    let found: boolean;
    switch (service) {
      case "domain":
        found = matchDomainKey(key, has);
        break;
      case "mailaddr":
        found = matchMailaddrKey(key, has);
        break;
      case "netaddr":
      case "source":
        found = matchNetaddrByText(key, has);
        break;
      default:
        found = has(key);
    }
    if (missing && !found) throw missing;
    return found;
  }

  lookup(service: TableService, key: string): string | undefined {
    this.#refuseUnserved(service);
    return formatRows(service, this.#rows(service, key));
  }

  keys(): Iterable<string> {
    throw new Error(`Table "${this.name}" cannot list its keys: it is answered by a server`);
  }

  /** Forgets cached answers (`smtpctl update table`, SIGHUP). */
  dropCache(): void {
    this.#cache?.clear();
  }

  /** Closes the backend's connections; resolves once they are closed. */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    countNetworkTable(-1);
    return this.#backend.close().catch(() => {});
  }

  /**
   * Runs the query now, through the guard (for callers that can wait). The backend is
   * asked with the key lowercased, as OpenSMTPD's table_lookup() asks every backend.
   */
  async query(service: TableService, key: string): Promise<Rows> {
    const lower = key.toLowerCase();
    const rows = await this.#guard.run((signal) => this.#backend.query(service, lower, signal));
    this.#cache?.set(`${service}\0${lower}`, rows);
    return rows;
  }

  #rows(service: TableService, key: string): Rows {
    const id = `${service}\0${key.toLowerCase()}`;
    const cached = this.#cache?.get(id);
    if (cached) return cached;
    const scope = currentLookupScope();
    if (!scope) {
      throw new Error(`Table "${this.name}" can only be read where lookups may wait`);
    }
    const answer = scope.answer(this, id);
    if (answer) {
      if ("error" in answer) throw answer.error;
      return answer.rows;
    }
    if (scope.final) throw new Error(`Table "${this.name}": too many lookups in one decision`);
    scope.request(this, id, () => this.#fetch(service, key));
    throw new LookupPending(this.name);
  }

  #fetch(service: TableService, key: string): Promise<ScopedAnswer> {
    return this.query(service, key).then(
      (rows) => ({ rows }),
      (error) => ({ error: error instanceof Error ? error : new Error(String(error)) }),
    );
  }

  #refuseUnserved(service: TableService): void {
    if (this.#backend.serves(service)) return;
    throw new Error(`Table "${this.name}" cannot be used for ${service} lookups: no query for it`);
  }
}

/**
 * The value of a map service, as OpenSMTPD's SQL tables build it: every row's first
 * column joined by ", " for alias and mailaddrmap; the first row's columns joined by ":"
 * for credentials (name, hash) and userinfo (uid, gid, home); else the first column.
 */
export function formatRows(service: TableService, rows: Rows): string | undefined {
  const first = rows[0];
  if (first === undefined) return undefined;
  if (service === "credentials" || service === "userinfo") return first.join(":");
  if (service === "alias" || service === "mailaddrmap") {
    return rows.map((row) => row[0] ?? "").join(", ");
  }
  return first[0] ?? "";
}
