// Public face of the relay box: relay URLs and relaying one envelope (MX lookup and the SMTP
// client stay inside).
export { parseRelayUrl } from "./url.ts";
export type { RelayTls, RelayUrl } from "./url.ts";
export type { MxOptions } from "./mx.ts";
export { relayEnvelope } from "./relay.ts";
export type { RelayContext } from "./relay.ts";
