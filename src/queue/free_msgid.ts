// A message id for a transaction that names its message before it is queued (SMTP fixes
// it at MAIL FROM): 32 random bits, as OpenSMTPD's, that no queued message has. With
// 100,000 messages queued about one new id in 43,000 is taken; the commit could then only
// fail, since the id is already in the Received: line and told to the filters.

import { randomHex } from "../mail/mod.ts";
import type { Queue } from "./sqlite_store.ts";

/** Tries this many ids before giving one that may be taken (the commit then says so). */
const TRIES = 8;

/** A random message id no message in `queue` has now. */
export function freeMsgid(queue: Pick<Queue, "messageInfo">): string {
  let id = randomHex(4);
  for (let i = 1; i < TRIES && isTaken(queue, id); i++) id = randomHex(4);
  return id;
}

// A queue that cannot be read now lets the id go: its commit will tell.
function isTaken(queue: Pick<Queue, "messageInfo">, id: string): boolean {
  try {
    return queue.messageInfo(id) !== undefined;
  } catch {
    return false;
  }
}
