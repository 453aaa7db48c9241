/**
 * The ruleset: a configuration's `match` lines compiled once into one function that
 * decides, for a session and an envelope, which action takes a recipient or why it is
 * refused.
 *
 * @module
 */
export { compileRuleset } from "./compile.ts";
export { CRITERION_SERVICES } from "./criteria.ts";
export type { Ruleset, RulesetOptions } from "./compile.ts";
export type { EnvelopeFacts, RuleVerdict, SessionFacts } from "./facts.ts";
