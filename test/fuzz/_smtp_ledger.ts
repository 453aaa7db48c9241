// The fuzzer's books on delivery: every message the daemon answered 250 for must reach the
// Maildir, none more often than its recipients were named, and, in a session whose replies
// were all read, none that did not get its 250.

import type { SessionRecord } from "./_smtp_session.ts";

// A message whose content took in the bytes of earlier ones (a BDAT chunk declared longer
// than it was) holds several tokens: the last is the message that was committed.
const TOKEN_REGEXP = /^X-Fuzz-Token: ((c\d+)m\d+)$/gm;
const MSGID_REGEXP = /by mx\.example\.test \(OpenSMTPD\) with \S+ id ([0-9a-f]+)/;
const DELIVERED_TO_REGEXP = /^Delivered-To: (.*)@/m;

interface Booked {
  readonly caseIndex: number;
  readonly record: SessionRecord;
  /** Files seen per token, counted per recipient local part. */
  readonly files: Map<string, Map<string, number>>;
  /** Message ids seen in this session's files. */
  readonly msgids: Set<string>;
}

/** One delivered file, as read (and removed) from the Maildir. */
interface DeliveredFile {
  readonly session: string;
  readonly token: string;
  readonly msgid: string | undefined;
  /** Lower-cased local part of Delivered-To. */
  readonly name: string;
}

/**
 * Counts delivered files against the sessions that sent them. Sessions may still be running
 * while it reads: their files wait until they are booked.
 */
export class DeliveryLedger {
  #booked = new Map<string, Booked>();
  // Sessions already checked, and whether all their replies were read.
  #checked = new Map<string, boolean>();
  // Every message id seen in a file (a file without a token still shows its message went).
  #seenMsgids = new Set<string>();
  #unclaimed: DeliveredFile[] = [];
  #late: string[] = [];
  #settling: Promise<unknown> = Promise.resolve();
  /** Files delivered, all told. */
  delivered = 0;
  /** Files without a token (a BDAT chunk that lost the head): counted, not checked. */
  untokened = 0;

  /** Books a session the fuzzer ran as case `caseIndex`. */
  record(caseIndex: number, record: SessionRecord): void {
    this.#booked.set(record.id, { caseIndex, record, files: new Map(), msgids: new Set() });
  }

  /**
   * Reads the Maildir (removing what it read) until every accepted message of the booked
   * sessions is there or `timeoutMs` passes, then checks each session; returns the problems.
   * Calls made while one runs wait for it.
   */
  settle(mailDir: string, timeoutMs: number): Promise<string[]> {
    const run = this.#settling.then(() => this.#settle(mailDir, timeoutMs));
    this.#settling = run.catch(() => {});
    return run;
  }

  async #settle(mailDir: string, timeoutMs: number): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    // Sessions booked from now on are checked next time: their deliveries may lag.
    const batch = [...this.#booked.values()];
    while (true) {
      await this.#scan(mailDir);
      if (this.#missing(batch).length === 0 || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    // One more look, for duplicates that come just after.
    await new Promise((r) => setTimeout(r, 300));
    await this.#scan(mailDir);
    const problems = [...this.#late];
    this.#late = [];
    for (const one of batch) {
      problems.push(...this.#check(one));
      this.#booked.delete(one.record.id);
      this.#checked.set(one.record.id, one.record.complete);
    }
    return problems;
  }

  #missing(batch: readonly Booked[]): string[] {
    const missing: string[] = [];
    for (const booked of batch) {
      for (const msgid of booked.record.accepted) {
        if (!booked.msgids.has(msgid) && !this.#seenMsgids.has(msgid)) missing.push(msgid);
      }
    }
    return missing;
  }

  #check(booked: Booked): string[] {
    const { record, caseIndex } = booked;
    const where = `case ${caseIndex}`;
    const problems: string[] = [];
    for (const msgid of record.accepted) {
      if (!booked.msgids.has(msgid) && !this.#seenMsgids.has(msgid)) {
        problems.push(`${where}: message ${msgid} got a 250 and was not delivered`);
      }
    }
    if (record.complete) {
      for (const msgid of booked.msgids) {
        if (!record.accepted.includes(msgid)) {
          problems.push(`${where}: message ${msgid} was delivered without a 250`);
        }
      }
    }
    // A message goes to each recipient at most as often as the input named it from the end
    // of the last message that went through (a transaction left open carries over) to the
    // commit of its own transaction. That commit may come after the message's end: a BDAT
    // chunk declared longer than it was leaves the transaction open, a RCPT sent after the
    // message's end adds to it, and a later BDAT LAST commits it, the token still the last
    // one in its content. It comes before the next message that went through, though: that
    // one's token would have been in this content otherwise (one transaction at a time).
    const { messages } = record;
    let carried = new Map<string, number>();
    for (const [k, message] of messages.entries()) {
      const window = new Map(carried);
      const files = booked.files.get(message.token);
      addNames(window, message.named);
      const later = new Map<string, number>();
      let next = k + 1;
      for (; next < messages.length; next++) {
        addNames(later, messages[next]!.named);
        if (booked.files.has(messages[next]!.token)) break;
      }
      if (next === messages.length) addNames(later, record.trailing);
      for (const [name, n] of files ?? []) {
        const named = (window.get(name) ?? 0) + (later.get(name) ?? 0);
        if (n > named) {
          problems.push(
            `${where}: ${message.token} delivered ${n} times to ${name}, named ${named} times`,
          );
        }
      }
      carried = files ? new Map() : window;
    }
    return problems;
  }

  // Reads and removes every file in new/, then hands each to its session: booked, already
  // checked (so late), or not yet booked (kept for later).
  async #scan(mailDir: string): Promise<void> {
    // UTF-8 with replacement, as the daemon reads addresses, so Delivered-To compares with
    // what the session counted.
    const utf8 = new TextDecoder();
    let entries: Deno.DirEntry[] = [];
    try {
      entries = await Array.fromAsync(Deno.readDir(`${mailDir}/new`));
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    const files = this.#unclaimed;
    this.#unclaimed = [];
    for (const entry of entries) {
      const path = `${mailDir}/new/${entry.name}`;
      const text = utf8.decode(await Deno.readFile(path));
      await Deno.remove(path);
      this.delivered++;
      const msgid = MSGID_REGEXP.exec(text)?.[1];
      if (msgid) this.#seenMsgids.add(msgid);
      const last = [...text.matchAll(TOKEN_REGEXP)].at(-1);
      const token = last?.[1];
      const session = last?.[2];
      if (!session || !token) {
        this.untokened++;
        continue;
      }
      const name = (DELIVERED_TO_REGEXP.exec(text)?.[1] ?? "?").toLowerCase();
      files.push({ session, token, msgid, name });
    }
    for (const file of files) {
      const booked = this.#booked.get(file.session);
      if (!booked) {
        // Late, so never answered 250: a fault only where every reply was read.
        const complete = this.#checked.get(file.session);
        if (complete) this.#late.push(`${file.token} was delivered without a 250`);
        else if (complete === undefined) this.#unclaimed.push(file);
        continue;
      }
      if (file.msgid) booked.msgids.add(file.msgid);
      const perName = booked.files.get(file.token) ?? new Map<string, number>();
      perName.set(file.name, (perName.get(file.name) ?? 0) + 1);
      booked.files.set(file.token, perName);
    }
  }
}

function addNames(into: Map<string, number>, names: ReadonlyMap<string, number>): void {
  for (const [name, n] of names) into.set(name, (into.get(name) ?? 0) + n);
}
