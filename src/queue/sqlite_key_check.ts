// The guard against opening the queue with the wrong `queue encryption` key: a sealed
// check value in queue_meta, written by the first encrypted start and opened by later ones.

import type { DatabaseSync } from "node:sqlite";
import { CONTENT_ENCRYPTED, type ContentCodec } from "./content_codec.ts";
import { retryWhileBusy } from "./sqlite_errors.ts";

const KEY_CHECK = new TextEncoder().encode("queue key check");

/**
 * Refuses to start with the wrong key: the first encrypted start stores a sealed
 * check value, later starts must open it. A queue holding encrypted bodies needs a key.
 */
export async function checkQueueKey(
  db: DatabaseSync,
  codec: ContentCodec,
  path: string,
): Promise<void> {
  const row = db.prepare("SELECT value FROM queue_meta WHERE key = 'key_check'").get() as
    | { value: Uint8Array }
    | undefined;
  if (codec.flags & CONTENT_ENCRYPTED) {
    if (row) {
      try {
        await codec.decode(row.value, CONTENT_ENCRYPTED);
      } catch {
        throw new Error(`The queue encryption key is not the one "${path}" was written with`);
      }
    } else {
      const sealed = await codec.encode(KEY_CHECK);
      // OR IGNORE: another process starting at the same time may have stored it first
      // (with the same key, or the next start refuses the wrong one).
      retryWhileBusy(
        () =>
          db.prepare("INSERT OR IGNORE INTO queue_meta (key, value) VALUES ('key_check', ?)")
            .run(sealed),
        120_000,
      );
    }
    return;
  }
  const encrypted = db.prepare(
    "SELECT count(*) AS n FROM messages WHERE flags & ? != 0",
  ).get(CONTENT_ENCRYPTED) as { n: number };
  if (encrypted.n > 0) {
    throw new Error(
      `The queue "${path}" holds ${encrypted.n} encrypted message(s) and no ` +
        "`queue encryption` key is configured",
    );
  }
}
