/**
 * DNS with the DNSSEC verdict: a stub resolver that reports the AD bit of a validating
 * resolver, for DANE and other lookups whose answer must be trusted.
 *
 * @module
 */
export { DnsTransportError, queryDns } from "./dns_client.ts";
export type {
  DnsAnswer,
  DnsQueryOptions,
  DnsRecord,
  DnsRecordType,
  NameServer,
} from "./dns_client.ts";
export { parseNameServers, parseResolvConf, systemResolver } from "./resolv_conf.ts";
export type { ResolverServer, ResolverSettings } from "./resolv_conf.ts";
