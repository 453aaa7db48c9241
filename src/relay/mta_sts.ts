// The MTA-STS policy of a recipient domain (RFC 8461 §3, §5): the `_mta-sts` TXT record
// says whether there is one and its id; the policy is fetched when no cached one has that
// id, or the cached one expired; a cached policy outlives a failed fetch or a vanished TXT
// record until its max_age runs out (§5.1). Caching is the queue file's.

import { systemTrustStore } from "../client/mod.ts";
import { queryDns } from "../dns/mod.ts";
import type { Logger } from "../log/mod.ts";
import { errorMessage } from "../mail/mod.ts";
import { fetchPolicyText } from "./mta_sts_fetch.ts";
import { type MtaStsPolicy, parseMtaStsPolicy } from "./mta_sts_policy.ts";
import { type MxOptions, resolveHostAddresses } from "./mx.ts";

/** One cached policy, as fetched (the queue's PolicyCache stores these). */
export interface CachedPolicy {
  readonly domain: string;
  readonly id: string;
  readonly text: string;
  readonly fetchedAt: number;
  readonly expiresAt: number;
}

/** Where policies are kept between deliveries. */
export interface MtaStsCache {
  get(domain: string): CachedPolicy | undefined;
  put(policy: CachedPolicy): void;
}

/** Options of {@link findMtaStsPolicy}. */
export interface MtaStsOptions {
  readonly cache: MtaStsCache;
  readonly dns?: MxOptions;
  /** The HTTPS port of policy hosts (443; tests serve elsewhere). */
  readonly port?: number;
  /** Trust anchors for the policy host's certificate (PEM); the system's store otherwise. */
  readonly ca?: string;
  readonly timeoutMs?: number;
  readonly log: Logger;
  readonly now?: () => number;
}

/** A cache in memory, for relaying without a queue file (one-shot tests and tools). */
export class MemoryPolicyCache implements MtaStsCache {
  readonly #policies = new Map<string, CachedPolicy>();
  get(domain: string): CachedPolicy | undefined {
    return this.#policies.get(domain.toLowerCase());
  }
  put(policy: CachedPolicy): void {
    this.#policies.set(policy.domain.toLowerCase(), policy);
  }
}

// RFC 8461 §3.1: `v=STSv1; id=…;`, the id 1 to 32 letters and digits.
const TXT_REGEXP = /^v=STSv1\s*;(?:.*;)?\s*id=([A-Za-z0-9]{1,32})\s*(?:;.*)?$/;

/** The domain's policy in force, or undefined when it has none. Never throws. */
export async function findMtaStsPolicy(
  domain: string,
  options: MtaStsOptions,
): Promise<MtaStsPolicy | undefined> {
  const now = options.now?.() ?? Date.now();
  const name = domain.toLowerCase();
  const cached = readCache(name, options);
  const valid = cached && cached.expiresAt > now ? cached : undefined;
  const record = await txtId(name, options);
  const fromCache = (why: string) => {
    if (!valid) {
      if (why) options.log.info(`smtp-out: MTA-STS policy of ${name}: ${why}; no policy`);
      return undefined;
    }
    if (why) {
      options.log.info(
        `smtp-out: MTA-STS policy of ${name}: ${why}; the cached one (id ${valid.id}) applies`,
      );
    }
    const policy = parseMtaStsPolicy(valid.text, valid.id);
    return typeof policy === "string" ? undefined : policy;
  };
  if ("error" in record) return fromCache(record.error);
  if (record.id === undefined) return fromCache("");
  if (valid && valid.id === record.id) return fromCache("");
  const fetched = await fetchPolicy(name, options);
  if ("error" in fetched) return fromCache(`fetch failed: ${fetched.error}`);
  const policy = parseMtaStsPolicy(fetched.text, record.id);
  if (typeof policy === "string") return fromCache(`the policy does not parse: ${policy}`);
  const change = cached ? ` (id was ${cached.id})` : "";
  options.log.info(
    `smtp-out: MTA-STS policy of ${name} fetched: id ${policy.id}${change} mode ${policy.mode} ` +
      `mx ${policy.mx.join(",") || "-"} max_age ${policy.maxAge}`,
  );
  writeCache({
    domain: name,
    id: policy.id,
    text: fetched.text,
    fetchedAt: now,
    expiresAt: now + policy.maxAge * 1000,
  }, options);
  return policy;
}

// The id of the domain's one `v=STSv1` TXT record; none when it has none or several.
async function txtId(
  domain: string,
  options: MtaStsOptions,
): Promise<{ id?: string } | { error: string }> {
  try {
    const answer = await queryDns(`_mta-sts.${domain}`, "TXT", {
      ...(options.dns?.nameServer ? { nameServer: options.dns.nameServer } : {}),
    });
    if (answer.rcode !== "NOERROR" && answer.rcode !== "NXDOMAIN") {
      return { error: `TXT lookup of _mta-sts.${domain}: ${answer.rcode}` };
    }
    // RFC 8461 §3.1: records not starting with v=STSv1 are ignored; more than one is none.
    const texts = answer.records.flatMap((r) => r.type === "TXT" ? [r.text] : [])
      .filter((t) => t.startsWith("v=STSv1"));
    if (texts.length !== 1) return {};
    const id = TXT_REGEXP.exec(texts[0]!)?.[1];
    return id === undefined ? {} : { id };
  } catch (error) {
    return { error: errorMessage(error) };
  }
}

async function fetchPolicy(
  domain: string,
  options: MtaStsOptions,
): Promise<{ text: string } | { error: string }> {
  const host = `mta-sts.${domain}`;
  // A resolver of the daemon's own (tests) names the address; otherwise the system's.
  let address: string | undefined;
  if (options.dns?.nameServer) {
    address = (await resolveHostAddresses(host, options.dns))[0];
    if (address === undefined) return { error: `${host} has no address` };
  }
  const ca = options.ca ?? systemTrustStore();
  return await fetchPolicyText(domain, {
    ...(address ? { address } : {}),
    ...(options.port ? { port: options.port } : {}),
    ...(ca === undefined ? {} : { ca }),
    ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
  });
}

// The cache is an optimisation and a memory: trouble with it never stops a delivery.
function readCache(domain: string, options: MtaStsOptions): CachedPolicy | undefined {
  try {
    return options.cache.get(domain);
  } catch (error) {
    options.log.warn(`smtp-out: MTA-STS cache unreadable: ${errorMessage(error)}`);
    return undefined;
  }
}

function writeCache(policy: CachedPolicy, options: MtaStsOptions): void {
  try {
    options.cache.put(policy);
  } catch (error) {
    options.log.warn(`smtp-out: MTA-STS cache not written: ${errorMessage(error)}`);
  }
}
