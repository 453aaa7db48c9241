// The transport-security policies relaying has fetched (MTA-STS, RFC 8461 §5.1: kept for
// their max_age), in the queue file, so a restart neither forgets a policy that must be
// enforced nor fetches every one again. The table is made the first time it is used.

import type { DatabaseSync, StatementSync } from "node:sqlite";

/** One cached policy, as fetched. */
export interface StoredPolicy {
  readonly domain: string;
  /** The `id` of the TXT record the policy was fetched for. */
  readonly id: string;
  /** The policy text as served. */
  readonly text: string;
  readonly fetchedAt: number;
  readonly expiresAt: number;
}

const TABLE = `CREATE TABLE IF NOT EXISTS mta_sts_policies (
  domain TEXT PRIMARY KEY,
  id TEXT NOT NULL,
  policy TEXT NOT NULL,
  fetched_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
) STRICT`;

/** The MTA-STS policy cache of one queue file. */
export class PolicyCache {
  readonly #db: DatabaseSync;
  #stmt: { get: StatementSync; put: StatementSync } | undefined;

  constructor(db: DatabaseSync) {
    this.#db = db;
  }

  /** The policy cached for a domain (lower case), expired or not. */
  get(domain: string): StoredPolicy | undefined {
    const row = this.#statements().get.get(domain.toLowerCase()) as
      | { id: string; policy: string; fetched_at: number; expires_at: number }
      | undefined;
    if (!row) return undefined;
    return {
      domain: domain.toLowerCase(),
      id: row.id,
      text: row.policy,
      fetchedAt: row.fetched_at,
      expiresAt: row.expires_at,
    };
  }

  /** Stores (or replaces) a domain's policy. */
  put(policy: StoredPolicy): void {
    this.#statements().put.run(
      policy.domain.toLowerCase(),
      policy.id,
      policy.text,
      policy.fetchedAt,
      policy.expiresAt,
    );
  }

  #statements(): { get: StatementSync; put: StatementSync } {
    if (!this.#stmt) {
      this.#db.exec(TABLE);
      this.#stmt = {
        get: this.#db.prepare(
          "SELECT id, policy, fetched_at, expires_at FROM mta_sts_policies WHERE domain = ?",
        ),
        put: this.#db.prepare(
          `INSERT INTO mta_sts_policies (domain, id, policy, fetched_at, expires_at)
           VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (domain) DO UPDATE SET id = excluded.id, policy = excluded.policy,
             fetched_at = excluded.fetched_at, expires_at = excluded.expires_at`,
        ),
      };
    }
    return this.#stmt;
  }
}
