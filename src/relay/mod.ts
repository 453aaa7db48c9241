/**
 * Relaying one envelope as a `relay` action says: to a smarthost or the recipient
 * domain's MX hosts in order, with opportunistic or required TLS and AUTH, through the
 * client core.
 *
 * @module
 */
export type { MxOptions } from "./mx.ts";
export { relayEnvelope } from "./relay.ts";
export type { RelayContext } from "./relay.ts";
export { RelaySession } from "./session.ts";
export type { RelayRoute, SessionFailure } from "./session.ts";
export { ConnectionPool, DEFAULT_POOL_LIMITS } from "./pool.ts";
export type { Lease, PoolLimits } from "./pool.ts";
