// The TLS policy of delivery by MX, set up from a relay action and its context: each MX
// host's decision, the hosts no policy lets be used logged with the reason, and a deferral
// that names every reason when none is left (the mail waits; it never goes in clear).

import type { RelayOptions } from "../config/mod.ts";
import type { Logger } from "../log/mod.ts";
import { type DeliveryFailure, tempfail } from "../mail/mod.ts";
import type { Table } from "../tables/mod.ts";
import type { MxOptions } from "./mx.ts";
import type { MtaStsPolicy } from "./mta_sts_policy.ts";
import { decideTls, type TlsDecision } from "./tls_policy.ts";

/** What the decision needs from the relay context. */
export interface MxTlsContext {
  readonly dns?: MxOptions;
  readonly tables?: ReadonlyMap<string, Table>;
  readonly log: Logger;
  /** The recipient domain's MTA-STS policy, when MTA-STS is on. */
  readonly mtaSts?: (domain: string) => Promise<MtaStsPolicy | undefined>;
}

/** The MX hosts that may be used, in order, each with its TLS decision. */
export async function decideMxTls(
  hosts: readonly string[],
  domain: string,
  options: RelayOptions,
  context: MxTlsContext,
): Promise<{ host: string; decision: TlsDecision }[] | DeliveryFailure> {
  let table: { name: string; table: Table } | undefined;
  if (options.tlsPolicy) {
    const found = context.tables?.get(options.tlsPolicy.name);
    if (!found) return tempfail(`4.3.0 table "${options.tlsPolicy.name}" is not open`);
    table = { name: options.tlsPolicy.name, table: found };
  }
  const mtaSts = context.mtaSts;
  const decided = await decideTls(hosts, {
    domain,
    ...(options.tls ? { actionTls: options.tls } : {}),
    ...(table ? { table } : {}),
    ...(context.dns?.nameServer ? { dns: { nameServer: context.dns.nameServer } } : {}),
    ...(mtaSts ? { mtaSts: () => mtaSts(domain) } : {}),
  });
  if (!Array.isArray(decided)) {
    context.log.info(`smtp-out: TLS policy of ${domain}: ${decided.reason}`);
    return decided;
  }
  const usable: { host: string; decision: TlsDecision }[] = [];
  const skipped: string[] = [];
  for (const entry of decided) {
    if ("skipped" in entry) {
      context.log.info(`smtp-out: MX ${entry.host} of ${domain} not used: ${entry.skipped}`);
      skipped.push(`${entry.host}: ${entry.skipped}`);
    } else {
      usable.push(entry);
    }
  }
  if (usable.length === 0) {
    return tempfail(`4.7.5 no MX host of ${domain} meets its TLS policy (${skipped.join("; ")})`);
  }
  return usable;
}
