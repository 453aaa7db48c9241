// One session's filters: every filter it may meet is opened at connect (so each sees the
// whole session's reports), the listener's chain is asked at every phase, and a rule's
// filters from the recipient that rule accepted onwards (rcpt-to, data, data-line, commit).

import type { Logger } from "../log/mod.ts";
import type {
  ChainFilter,
  FilterDecision,
  FilterLink,
  FilterPhase,
  FilterSessionView,
} from "./hook.ts";

/** A `rewrite` decision: the new argument, and the filter that gave it (for the log). */
export interface ChainRewrite {
  readonly value: string;
  readonly filter: string;
}

/** The chain's verdict on one phase. */
export type ChainOutcome =
  | { readonly kind: "proceed"; readonly junk: boolean; readonly rewrite?: ChainRewrite }
  | { readonly kind: "reject" | "disconnect"; readonly reply: string; readonly filter: string };

/** The filters a listener's sessions use. */
export interface FilterPlan {
  /** `listen … filter NAME`: the chain, in order. */
  readonly listener: readonly ChainFilter[];
  /** `match … filter NAME`: the chain of each rule that names one, by action+rule key. */
  readonly rules: ReadonlyMap<string, readonly ChainFilter[]>;
}

/** A session's filter state. */
export class SessionFilters {
  readonly #links = new Map<ChainFilter, FilterLink>();
  readonly #plan: FilterPlan;
  readonly #view: FilterSessionView;
  readonly #log: Logger;
  // Rule filters the transaction's recipients brought in, in the order they came.
  #txFilters: ChainFilter[] = [];

  constructor(plan: FilterPlan, view: FilterSessionView, log: Logger) {
    this.#plan = plan;
    this.#view = view;
    this.#log = log;
    const all = new Set([...plan.listener, ...[...plan.rules.values()].flat()]);
    for (const filter of all) this.#links.set(filter, filter.open(view));
  }

  /** True when some filter wants this report event (to skip building its parameters). */
  wantsReport(event: string): boolean {
    for (const filter of this.#links.keys()) if (filter.reports.has(event)) return true;
    return false;
  }

  /** Tells every filter that registered for it. */
  report(event: string, params: readonly string[]): void {
    for (const [filter, link] of this.#links) {
      if (filter.reports.has(event)) link.report(event, params);
    }
  }

  /** Asks the listener's chain (and, from rcpt-to on, the transaction's rule filters). */
  query(phase: FilterPhase, params: readonly string[]): Promise<ChainOutcome> {
    const late = phase === "data" || phase === "commit";
    return this.#run(late ? this.#withRules() : this.#plan.listener, phase, params);
  }

  /** A recipient accepted by the rule `key`: that rule's chain is asked about it. */
  async queryRule(key: string, address: string): Promise<ChainOutcome> {
    const filters = this.#plan.rules.get(key);
    if (!filters) return { kind: "proceed", junk: false };
    const outcome = await this.#run(filters, "rcpt-to", [address]);
    if (outcome.kind === "proceed") {
      for (const f of filters) if (!this.#txFilters.includes(f)) this.#txFilters.push(f);
    }
    return outcome;
  }

  /** Whether the message's lines go through any filter. */
  get filtersData(): boolean {
    return this.#withRules().some((f) => f.phases.has("data-line"));
  }

  /** The message's lines through every data-line filter in turn. */
  async dataLines(lines: readonly string[]): Promise<readonly string[]> {
    let current = lines;
    for (const filter of this.#withRules()) {
      const link = this.#links.get(filter)!;
      if (filter.phases.has("data-line") && link.dataLines) current = await link.dataLines(current);
    }
    return current;
  }

  /** The transaction ended: its rule filters are dropped. */
  endTransaction(): void {
    this.#txFilters = [];
  }

  /** The session ended. */
  close(): void {
    for (const link of this.#links.values()) link.close();
  }

  #withRules(): readonly ChainFilter[] {
    if (this.#txFilters.length === 0) return this.#plan.listener;
    return [...new Set([...this.#plan.listener, ...this.#txFilters])];
  }

  async #run(
    filters: readonly ChainFilter[],
    phase: FilterPhase,
    params: readonly string[],
  ): Promise<ChainOutcome> {
    let junk = false;
    let rewrite: ChainRewrite | undefined;
    let current = params;
    for (const filter of filters) {
      if (!filter.phases.has(phase)) continue;
      const decision: FilterDecision = await this.#links.get(filter)!.query(phase, current);
      this.#respond(phase, decision);
      switch (decision.kind) {
        case "bypass":
          return { kind: "proceed", junk, ...(rewrite === undefined ? {} : { rewrite }) };
        case "junk":
          junk = true;
          break;
        case "rewrite":
          rewrite = { value: decision.value, filter: filter.name };
          current = [decision.value, ...current.slice(1)];
          break;
        case "report":
          this.#log.info(`filter ${filter.name}: session ${this.#view.id}: ${decision.value}`);
          this.report("filter-report", [filter.kind, filter.name, decision.value]);
          break;
        case "reject":
        case "disconnect":
          this.#log.info(
            `smtp-in: session ${this.#view.id} ${phase} ${decision.kind}ed by filter ${filter.name}: ${decision.reply}`,
          );
          return { kind: decision.kind, reply: decision.reply, filter: filter.name };
      }
    }
    return { kind: "proceed", junk, ...(rewrite === undefined ? {} : { rewrite }) };
  }

  #respond(phase: FilterPhase, decision: FilterDecision): void {
    if (!this.wantsReport("filter-response")) return;
    const param = "reply" in decision
      ? [decision.reply]
      : "value" in decision
      ? [decision.value]
      : [];
    this.report("filter-response", [phase, decision.kind, ...param]);
  }
}
