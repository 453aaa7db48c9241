// Inbound checks of SPF (RFC 7208), DKIM (RFC 6376) and DMARC (RFC 9989) by npm:mailauth,
// summed up as an Authentication-Results field (RFC 8601) and a verdict a filter acts on.

import { Buffer } from "node:buffer";
import { formatAuthResults } from "./auth_results.ts";
import { type DkimRow, reportDkim } from "./dkim_results.ts";
import { checkDmarcAuthors, type DmarcRow } from "./dmarc_authors.ts";
import { readDmarcRecords } from "./dmarc_records.ts";
import { createMailAuthResolver, type DnsSettings } from "./dns_resolver.ts";
import { organizationalDomain } from "./organizational_domain.ts";

/** Where the message came from, as the session saw it. */
export interface MessageOrigin {
  /** The client's address. */
  readonly ip: string;
  /** The EHLO/HELO name. */
  readonly helo?: string | undefined;
  /** The MAIL FROM address (empty for `<>`). */
  readonly sender?: string | undefined;
}

/** The outcome of the checks. */
export interface AuthVerdict {
  /** The Authentication-Results field's lines (folded, no line ends). */
  readonly header: readonly string[];
  readonly spf: string;
  /** The best DKIM result (pass if one signature passes). */
  readonly dkim: string;
  readonly dmarc: string;
  /** The policy the From: domain publishes, to apply on `dmarc=fail`. */
  readonly dmarcPolicy?: string;
  /** The From: domain DMARC looked at. */
  readonly fromDomain?: string;
  /** Why DMARC could not check the message (its result is permerror): no From: field, two… */
  readonly dmarcProblem?: string;
  /**
   * DMARC could not be decided because DNS failed: the DMARC record's lookup, or, when
   * DMARC did not pass, an SPF or DKIM check of a domain aligned with the From: domain.
   * A temperror of an unaligned domain (the sender's choice) decides nothing: DMARC fails
   * without it all the same (RFC 7489 §4.2, §6.6.2).
   */
  readonly temperror: boolean;
}

/** Options of {@link verifyMessage}. */
export interface VerifyOptions {
  /** The authserv-id (RFC 8601 §2.5): `admd` or the server's name. */
  readonly authservId: string;
  readonly dns?: DnsSettings;
}

// npm:mailauth and what it pulls in weigh about half a second of start-up and tens of MB
// in each process that loads them: they are imported when a message is first checked.
let mailauth: Promise<typeof import("mailauth")> | undefined;

interface Status {
  readonly status?: { readonly result?: string };
  readonly info?: string;
}

/** Runs SPF, DKIM and DMARC on the message (lines of octets, no line ends). */
export async function verifyMessage(
  lines: readonly string[],
  origin: MessageOrigin,
  options: VerifyOptions,
): Promise<AuthVerdict> {
  const message = Buffer.from(lines.map((l) => `${l}\r\n`).join(""), "latin1");
  const { authenticate, dmarc: mailauthDmarc } = await (mailauth ??= import("mailauth"));
  const resolver = readDmarcRecords(createMailAuthResolver(options.dns));
  const result = await authenticate(message, {
    ip: origin.ip.replace(/^::ffff:/, ""),
    ...(origin.helo ? { helo: origin.helo } : {}),
    // RFC 7208 §2.4: a null sender is checked as postmaster@ the HELO name.
    sender: origin.sender || (origin.helo ? `postmaster@${origin.helo}` : ""),
    mta: options.authservId,
    resolver,
    // RFC 8301 §3.1: rsa-sha1 signatures MUST NOT be considered valid (dkim=policy).
    rejectRsaSha1: true,
    disableArc: true,
    // DMARC is checked below, for every author domain.
    disableDmarc: true,
    disableBimi: true,
  });
  const spfResult = result.spf as (Status & { domain?: string }) | false;
  const spf = (spfResult && spfResult.status?.result) || "none";
  const dkimReports = ((result.dkim as { results?: DkimRow[] }).results ?? []).map(reportDkim);
  const dkimResults = dkimReports.map((r) => r.result);
  const dkim = dkimResults.includes("pass")
    ? "pass"
    : dkimResults.includes("temperror")
    ? "temperror"
    : dkimResults[0] ?? "none";
  const signed = result.dkim as { headerFrom?: string[]; fromFields?: number };
  const dmarc = await checkDmarcAuthors({
    addresses: signed.headerFrom ?? [],
    fields: signed.fromFields ?? 0,
    check: async (addresses) =>
      await mailauthDmarc({
        headerFrom: [...addresses],
        spfDomains: spfResult && spf === "pass" && spfResult.domain ? [spfResult.domain] : [],
        dkimDomains: dkimReports.flatMap((r) =>
          r.result === "pass" && r.row.signingDomain ? [{ domain: r.row.signingDomain }] : []
        ),
        resolver,
      }) as DmarcRow | false,
  });
  const texts = [
    ...dkimReports.map((r) => r.info),
    ...(spfResult && spfResult.info ? [spfResult.info] : []),
    ...dmarc.texts,
  ];
  return {
    header: formatAuthResults(authservIdOf(result.headers as string), texts),
    spf,
    dkim,
    dmarc: dmarc.result,
    ...(dmarc.policy ? { dmarcPolicy: dmarc.policy } : {}),
    ...(dmarc.domain ? { fromDomain: dmarc.domain } : {}),
    ...(dmarc.problem ? { dmarcProblem: dmarc.problem } : {}),
    temperror: dmarc.result === "temperror" ||
      (dmarc.result !== "pass" && dmarc.domain !== undefined && (
        (spf === "temperror" && aligned(spfDomainOf(spfResult, origin), dmarc.domain)) ||
        dkimReports.some((r) =>
          r.result === "temperror" && aligned(r.row.signingDomain, dmarc.domain!)
        )
      )),
  };
}

const AUTHSERV_ID_REGEXP = /^authentication-results: (.*);$/im;

// The authserv-id as mailauth writes it (quoted when it is not a token, RFC 8601 §2.2),
// from the field it prepared; the results are written here.
function authservIdOf(headers: string): string {
  const id = AUTHSERV_ID_REGEXP.exec(headers)?.[1];
  if (id === undefined) throw new Error("The checks produced no Authentication-Results field");
  return id;
}

// Relaxed alignment (RFC 7489 §3.1): the same organizational domain. Strict alignment is
// narrower, so a temperror counted here as aligned may be more than DMARC would count.
function aligned(domain: string | undefined, fromDomain: string): boolean {
  return domain !== undefined && organizationalDomain(domain) === organizationalDomain(fromDomain);
}

// The domain SPF checked: MAIL FROM's, or the HELO name's for the null sender.
function spfDomainOf(
  result: (Status & { domain?: string }) | false,
  origin: MessageOrigin,
): string | undefined {
  if (result && result.domain) return result.domain;
  const at = origin.sender?.lastIndexOf("@") ?? -1;
  return at >= 0 ? origin.sender!.slice(at + 1) : origin.helo;
}
