/**
 * Relaying one envelope as a `relay` action says: to a smarthost or the recipient
 * domain's MX hosts in order, with opportunistic or required TLS and AUTH, through the
 * client core.
 *
 * @module
 */
export { relayEnvelope } from "./relay.ts";
export { isSrsAddress, srsDecode, srsEncode } from "./srs.ts";
export type { SrsKeys } from "./srs.ts";
export type { RelayContext } from "./relay.ts";
export { ConnectionPool } from "./pool.ts";
export { DestinationPace } from "./pace.ts";
export { formatHosts, formatHoststats, formatRelays, formatRoutes, RelayBook } from "./book.ts";
export type { HostEntry, HoststatEntry, RelayEntry, RouteEntry } from "./book.ts";
