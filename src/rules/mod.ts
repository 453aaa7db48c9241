// Public face of the rules box: compile a configuration's matches once, decide envelopes fast.
export { compileRuleset, CRITERION_SERVICES } from "./compile.ts";
export { splitAddress } from "./matchers.ts";
export type { Ruleset, RulesetOptions } from "./compile.ts";
export type { EnvelopeFacts, RuleVerdict, SessionFacts } from "./facts.ts";
