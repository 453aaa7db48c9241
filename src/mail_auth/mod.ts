/**
 * Mail authentication: DKIM signing with RSA and Ed25519 keys, and the SPF, DKIM and
 * DMARC checks of inbound mail summed up in an Authentication-Results field.
 *
 * @module
 */
export { dkimPublicRecord, loadDkimKey, parseDkimKey } from "./dkim_key.ts";
export type { DkimAlgorithm, DkimKey } from "./dkim_key.ts";
export { DKIM_OVERSIGNED_HEADERS, DKIM_SIGNED_HEADERS, signDkim } from "./dkim_sign.ts";
export type { DkimSignOptions } from "./dkim_sign.ts";
export { createMailAuthResolver, DnsLookupError } from "./dns_resolver.ts";
export type { DnsSettings, MailAuthResolver } from "./dns_resolver.ts";
export { verifyMessage } from "./verify.ts";
export { dropForgedResults } from "./forged_results.ts";
export type { AuthVerdict, MessageOrigin, VerifyOptions } from "./verify.ts";
export { authVerifyFilter, dkimSignFilter } from "./filters.ts";
export type { AuthVerifyFilterOptions, DkimSignFilterOptions } from "./filters.ts";
export { startMailAuthFilters } from "./filter_setup.ts";
export type { MailAuthSetupOptions } from "./filter_setup.ts";
