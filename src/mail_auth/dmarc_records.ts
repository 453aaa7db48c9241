// DMARC records as the checks read them. npm:mailauth follows RFC 9989 (DMARCbis): a DNS
// Tree Walk finds the policy and the Organizational Domain, and pct= is historic. Two
// readings are added here, on the TXT answers for `_dmarc.` names, so the walk stays its own.

import { getPublicSuffix } from "tldts";
import type { MailAuthResolver } from "./dns_resolver.ts";

const DMARC_RECORD_REGEXP = /^v[ \t]*=[ \t]*DMARC1[ \t]*(?:;|$)/i;
const PSD_TAG_REGEXP = /(?:^|;)[ \t]*psd[ \t]*=/i;
const TEST_TAG_REGEXP = /(?:^|;)[ \t]*t[ \t]*=/i;
const PCT_TAG_REGEXP = /(?:^|;)[ \t]*pct[ \t]*=[ \t]*(\d+)/i;

/**
 * The resolver, with the DMARC records it answers read as follows:
 *
 * - at a name the Public Suffix List lists (co.uk), a record without `psd=` is taken as
 *   `psd=y`: otherwise the walk makes the suffix the Organizational Domain of everything
 *   below it, and unrelated domains (evil.co.uk, example.co.uk) would align;
 * - `pct=` below 100 without `t=` is taken as `t=y`: RFC 9989 replaces pct with t, t=y
 *   standing for pct=0 (the policy applied one level down), so a domain that asked for its
 *   policy on a part of its mail only does not get it on all of it.
 */
export function readDmarcRecords(resolve: MailAuthResolver): MailAuthResolver {
  return async (name, type) => {
    const answer = await resolve(name, type);
    const owner = /^_dmarc\.(.+)$/i.exec(name)?.[1]?.toLowerCase().replace(/\.$/, "");
    if (type !== "TXT" || owner === undefined) return answer;
    const suffix = getPublicSuffix(owner, { allowPrivateDomains: true }) === owner;
    return (answer as (string | string[])[]).map((record) => {
      const text = Array.isArray(record) ? record.join("") : record;
      if (!DMARC_RECORD_REGEXP.test(text)) return record;
      let extra = "";
      if (suffix && !PSD_TAG_REGEXP.test(text)) extra += "; psd=y";
      const pct = PCT_TAG_REGEXP.exec(text)?.[1];
      if (pct !== undefined && Number(pct) < 100 && !TEST_TAG_REGEXP.test(text)) extra += "; t=y";
      return extra === "" ? record : [text.replace(/[ \t;]*$/, "") + extra];
    }) as string[][];
  };
}
