// Public face of the rules box: compile a configuration's matches once, decide envelopes fast.
export { compileRuleset } from "./compile.ts";
export { CRITERION_SERVICES } from "./criteria.ts";
export type { Ruleset, RulesetOptions } from "./compile.ts";
export type { EnvelopeFacts, RuleVerdict, SessionFacts } from "./facts.ts";
