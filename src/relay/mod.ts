// Public face of the relay box: relay URLs, MX lookup and the SMTP client.
export { parseRelayUrl } from "./url.ts";
export type { RelayTls, RelayUrl } from "./url.ts";
export { resolveHostAddresses, resolveMx } from "./mx.ts";
export type { MxOptions, MxResult } from "./mx.ts";
export { dotStuff, sendOverSmtp } from "./client.ts";
export type { SmtpClientOutcome, SmtpClientRequest } from "./client.ts";
export { relayEnvelope } from "./relay.ts";
export type { RelayContext } from "./relay.ts";
