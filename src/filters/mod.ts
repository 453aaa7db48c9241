/**
 * Filters (smtpd-filters(7), smtpd.conf(5) FILTERS): the hook a filter implements, the
 * proc-exec processes that speak the line protocol, the builtin phase filters, and one
 * session's chain.
 *
 * @module
 */
export { FILTER_PHASES, PROCEED, REPORT_EVENTS } from "./hook.ts";
export type {
  ChainFilter,
  FilterDecision,
  FilterLink,
  FilterPhase,
  FilterSessionView,
} from "./hook.ts";
export { SessionFilters } from "./chain.ts";
export type { ChainOutcome, ChainRewrite, FilterPlan } from "./chain.ts";
export { FilterFailure, spawnFilterProcess } from "./proc_filter.ts";
export type { FilterProcess, FilterSpawnRequest, ProcFilter } from "./proc_filter.ts";
export { DEFAULT_FILTER_USER, startFilterSet } from "./filter_set.ts";
export type { FilterSet, FilterSetOptions } from "./filter_set.ts";
export { filterSocketSpawner, serveFilterSockets } from "./filter_sockets.ts";
