// Public face of the relay box: relaying one envelope (MX lookup, routes, the outbound
// session over the client core stay inside).
export type { MxOptions } from "./mx.ts";
export { relayEnvelope } from "./relay.ts";
export type { RelayContext } from "./relay.ts";
export { RelaySession } from "./session.ts";
export type { RelayRoute, SessionFailure } from "./session.ts";
