// Lets synchronous table callers (the compiled rules, alias expansion) read tables whose
// answers come over the network: a scope records each answer a lookup waited for, and the
// caller's function runs again once every answer it asked for has arrived.

import { AsyncLocalStorage } from "node:async_hooks";

/** What a network table answered for one key: rows, or why it could not answer. */
export type ScopedAnswer =
  | { readonly rows: readonly (readonly string[])[] }
  | { readonly error: Error };

/** Thrown by a network table whose answer is not known yet; the scope fetches it. */
export class LookupPending extends Error {
  constructor(table: string) {
    super(`Table "${table}" is waiting for its backend`);
    this.name = "LookupPending";
  }
}

// A decision runs again at most this many times: each round fetches every key it missed,
// so only a chain of lookups each depending on the last needs more than two.
const MAX_ROUNDS = 12;

/** The answers one decision has gathered, by table instance, service and key. */
export class LookupScope {
  readonly #answers = new Map<object, Map<string, ScopedAnswer>>();
  #pending: Promise<void>[] = [];
  /** The last round: a missing answer is an error, not another round. */
  final = false;

  /** The answer gathered for the key, if any. */
  answer(table: object, key: string): ScopedAnswer | undefined {
    return this.#answers.get(table)?.get(key);
  }

  /** Starts fetching an answer (once per key), kept for the next round. */
  request(table: object, key: string, fetch: () => Promise<ScopedAnswer>): void {
    let answers = this.#answers.get(table);
    if (!answers) this.#answers.set(table, answers = new Map());
    if (answers.has(key)) return;
    const slot = answers;
    this.#pending.push(fetch().then((answer) => void slot.set(key, answer)));
  }

  /** The fetches started since the last call. */
  takePending(): Promise<void>[] {
    const pending = this.#pending;
    this.#pending = [];
    return pending;
  }
}

const storage = new AsyncLocalStorage<LookupScope>();
let networkTables = 0;

/** The scope of the decision running now, if any. */
export function currentLookupScope(): LookupScope | undefined {
  return networkTables === 0 ? undefined : storage.getStore();
}

/** Counts open network tables: without any, {@link withTableLookups} costs nothing. */
export function countNetworkTable(delta: 1 | -1): void {
  networkTables += delta;
}

/**
 * Runs a decision that may read network tables. Without network tables this is a plain
 * call. Otherwise each lookup whose answer is not known yet starts its query and makes
 * the decision fail; once the answers are in, the decision runs again and reads them. The
 * result is synchronous when no lookup had to wait.
 *
 * @example
 * ```ts
 * const verdict = await withTableLookups(() => 1 + 1); // 2
 * ```
 */
export function withTableLookups<T>(decide: () => T): T | Promise<Awaited<T>> {
  if (networkTables === 0) return decide();
  return attempt(new LookupScope(), decide, 1);
}

function attempt<T>(scope: LookupScope, decide: () => T, round: number): T | Promise<Awaited<T>> {
  let result: T;
  try {
    result = storage.run(scope, decide);
  } catch (error) {
    const pending = scope.takePending();
    if (pending.length === 0) throw error;
    return retry(scope, decide, round, pending);
  }
  if (result instanceof Promise) {
    return result.then(
      (value) => settled(scope, decide, round, value),
      (error) => {
        const pending = scope.takePending();
        if (pending.length === 0) throw error;
        return retry(scope, decide, round, pending);
      },
    ) as Promise<Awaited<T>>;
  }
  const pending = scope.takePending();
  return pending.length === 0 ? result : retry(scope, decide, round, pending);
}

function settled<T>(scope: LookupScope, decide: () => T, round: number, value: Awaited<T>) {
  const pending = scope.takePending();
  return pending.length === 0 ? value : retry(scope, decide, round, pending);
}

async function retry<T>(
  scope: LookupScope,
  decide: () => T,
  round: number,
  pending: Promise<void>[],
): Promise<Awaited<T>> {
  await Promise.all(pending);
  if (round + 1 >= MAX_ROUNDS) scope.final = true;
  return await attempt(scope, decide, round + 1);
}
