// What is read from the queue file without changing it: stored bodies, a message's DSN
// settings, the listing of every envelope, counts by state and the file's own checks.

import { DatabaseSync, type StatementSync } from "node:sqlite";
import type { ContentCodec } from "./content_codec.ts";
import type { ListedEnvelope } from "./envelope.ts";
import { ENVELOPE_COLUMNS, type ListedRow, rowToListed } from "./sqlite_rows.ts";

/** A message's DSN settings and arrival. */
export interface MessageInfo {
  /** Unix milliseconds of arrival. */
  readonly createdAt: number;
  /** DSN RET: what a report returns of the message. */
  readonly dsnRet?: "FULL" | "HDRS";
  /** DSN ENVID. */
  readonly dsnEnvid?: string;
}

const LISTING =
  `SELECT ${ENVELOPE_COLUMNS}, e.state, e.next_try, e.lease_owner, e.paused, m.src FROM envelopes e JOIN messages m USING (msgid) ORDER BY e.created_at, e.evpid`;

/** The read-only queries of the queue file. */
export class QueueReads {
  #db: DatabaseSync;
  #path: string;
  #codec: ContentCodec;
  #stmt: Record<"content" | "info" | "all" | "dataVersion", StatementSync>;

  constructor(db: DatabaseSync, path: string, codec: ContentCodec) {
    this.#db = db;
    this.#path = path;
    this.#codec = codec;
    this.#stmt = {
      content: db.prepare("SELECT content, flags FROM messages WHERE msgid = ?"),
      info: db.prepare("SELECT created_at, dsn_ret, dsn_envid FROM messages WHERE msgid = ?"),
      all: db.prepare(LISTING),
      dataVersion: db.prepare("PRAGMA data_version"),
    };
  }

  /** The stored body, decoded; undefined when there is no such message. */
  async content(msgid: string): Promise<Uint8Array | undefined> {
    const row = this.#stmt.content.get(msgid) as
      | { content: Uint8Array; flags: number }
      | undefined;
    if (!row) return undefined;
    return row.flags === 0 ? row.content : await this.#codec.decode(row.content, row.flags);
  }

  /** The message's DSN settings and arrival. */
  messageInfo(msgid: string): MessageInfo | undefined {
    const row = this.#stmt.info.get(msgid) as
      | { created_at: number; dsn_ret: "FULL" | "HDRS" | null; dsn_envid: string | null }
      | undefined;
    if (!row) return undefined;
    return {
      createdAt: row.created_at,
      ...(row.dsn_ret === null ? {} : { dsnRet: row.dsn_ret }),
      ...(row.dsn_envid === null ? {} : { dsnEnvid: row.dsn_envid }),
    };
  }

  /** Every envelope, oldest first. */
  envelopes(): ListedEnvelope[] {
    return (this.#stmt.all.all() as unknown as ListedRow[]).map(rowToListed);
  }

  /**
   * Every envelope, oldest first, in pages of `size`: read from a connection of its own,
   * one snapshot of the file, row by row, so that the first page comes before the rest
   * is read and a long listing never holds the queue's own connection.
   */
  *envelopePages(size: number): Generator<ListedEnvelope[]> {
    const db = new DatabaseSync(this.#path, { readOnly: true });
    try {
      let page: ListedEnvelope[] = [];
      for (const row of db.prepare(LISTING).iterate()) {
        page.push(rowToListed(row as unknown as ListedRow));
        if (page.length < size) continue;
        yield page;
        page = [];
      }
      if (page.length > 0) yield page;
    } finally {
      db.close();
    }
  }

  /** How many messages there are, and envelopes in each state. */
  counts(): { messages: number; queued: number; failed: number } {
    const rows = this.#db.prepare("SELECT state, count(*) AS n FROM envelopes GROUP BY state")
      .all() as { state: string; n: number }[];
    const messages = (this.#db.prepare("SELECT count(*) AS n FROM messages").get() as { n: number })
      .n;
    const count = (state: string) => rows.find((r) => r.state === state)?.n ?? 0;
    return { messages, queued: count("queued"), failed: count("failed") };
  }

  /** A number that changes when another process commits to the file. */
  dataVersion(): number {
    return (this.#stmt.dataVersion.get() as { data_version: number }).data_version;
  }

  /** `PRAGMA integrity_check`: "ok" when the file is sound. */
  integrityCheck(): string {
    const rows = this.#db.prepare("PRAGMA integrity_check").all() as { integrity_check: string }[];
    return rows.map((r) => r.integrity_check).join("; ");
  }
}
