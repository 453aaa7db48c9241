// The mail authentication filters a chain can hold (smtpd.conf extensions): `dkim-sign`
// signs the message as the chain hands it on, `auth-verify` writes SPF, DKIM and DMARC
// results in Authentication-Results and refuses at commit what its options say to.

import type { ChainFilter, FilterLink, FilterSessionView } from "../filters/mod.ts";
import { PROCEED } from "../filters/mod.ts";
import { splitAddressList } from "../mail/mod.ts";
import type { Logger } from "../log/mod.ts";
import { splitMessage } from "./dkim_canon.ts";
import type { DkimKey } from "./dkim_key.ts";
import { signDkim } from "./dkim_sign.ts";
import type { DnsSettings } from "./dns_resolver.ts";
import { dropForgedResults } from "./forged_results.ts";
import { type AuthVerdict, verifyMessage } from "./verify.ts";

/** What a `dkim-sign` filter signs with. */
export interface DkimSignFilterOptions {
  readonly name: string;
  /** `d=`; mail whose From: is this domain or below it is signed. */
  readonly domain: string;
  readonly selector: string;
  readonly key: DkimKey;
  readonly log: Logger;
}

/** A filter that adds a DKIM-Signature to mail from its domain and passes the rest as is. */
export function dkimSignFilter(options: DkimSignFilterOptions): ChainFilter {
  const domain = options.domain.toLowerCase();
  return {
    name: options.name,
    kind: "builtin",
    phases: new Set(["data-line"]),
    reports: new Set(),
    open: (view) => ({
      report() {},
      query: () => Promise.resolve(PROCEED),
      dataLines(lines) {
        const from = fromDomain(lines);
        if (from !== domain && !from?.endsWith(`.${domain}`)) {
          options.log.debug(
            `filter ${options.name}: session ${view.id}: not signed, From: domain ${
              from ?? "(none)"
            } is not ${domain}`,
          );
          return Promise.resolve(lines);
        }
        const field = signDkim(lines, {
          domain: options.domain,
          selector: options.selector,
          key: options.key,
        });
        return Promise.resolve([...field, ...lines]);
      },
      close() {},
    }),
  };
}

// The domain of the (first) address in the From: field, lower-cased (RFC 5322 §3.6.2),
// read past display names in quotes and comments that look like addresses.
function fromDomain(lines: readonly string[]): string | undefined {
  const from = splitMessage(lines).headers.find((h) => h.key === "from");
  if (!from) return undefined;
  const value = from.lines.join("").slice(from.lines[0]!.indexOf(":") + 1);
  const address = splitAddressList(value)[0];
  const at = address?.lastIndexOf("@") ?? -1;
  return at < 0 ? undefined : address!.slice(at + 1).toLowerCase().replace(/\.$/, "");
}

/** What an `auth-verify` filter does with the results. */
export interface AuthVerifyFilterOptions {
  readonly name: string;
  /** The authserv-id (`admd`, else the server's name). */
  readonly authservId: string;
  readonly dns?: DnsSettings;
  /**
   * `reject-dmarc`: DMARC fail under `p=reject` is refused (550 5.7.1), and so is a message
   * DMARC cannot check (no From: field, or several).
   */
  readonly rejectDmarc: boolean;
  /** `on-temperror`: accept with temperror in the field, or refuse for now (451 4.7.0). */
  readonly onTemperror: "accept" | "tempfail";
  readonly log: Logger;
}

/** A filter that checks SPF, DKIM and DMARC and says so in Authentication-Results. */
export function authVerifyFilter(options: AuthVerifyFilterOptions): ChainFilter {
  return {
    name: options.name,
    kind: "builtin",
    phases: new Set(["data-line", "commit"]),
    reports: new Set(),
    open: (view) => verifyLink(view, options),
  };
}

function verifyLink(view: FilterSessionView, options: AuthVerifyFilterOptions): FilterLink {
  let verdict: AuthVerdict | undefined;
  return {
    report() {},
    async dataLines(lines) {
      const kept = dropForgedResults(lines, options.authservId);
      verdict = await verifyMessage(kept, {
        ip: view.src,
        helo: view.helo,
        sender: view.mailFrom,
      }, { authservId: options.authservId, ...(options.dns ? { dns: options.dns } : {}) });
      options.log.info(
        `filter ${options.name}: session ${view.id}: spf=${verdict.spf} dkim=${verdict.dkim} dmarc=${verdict.dmarc}${
          verdict.dmarcPolicy ? ` (p=${verdict.dmarcPolicy})` : ""
        }`,
      );
      // RFC 8601 §5: the field goes on top, above the trace fields already there.
      return [...verdict.header, ...kept];
    },
    query(phase) {
      const found = verdict;
      if (phase !== "commit" || !found) return Promise.resolve(PROCEED);
      verdict = undefined;
      if (
        options.rejectDmarc && !found.temperror && found.dmarc === "fail" &&
        found.dmarcPolicy === "reject"
      ) {
        // RFC 7489 §6.6.4 / §7.3: a rejection names the policy it applies.
        return Promise.resolve({
          kind: "reject",
          reply: `550 5.7.1 Delivery not authorized, message refused due to DMARC policy of ${
            found.fromDomain ?? "the sender's domain"
          }`,
        });
      }
      if (options.rejectDmarc && !found.temperror && found.dmarcProblem) {
        // RFC 7489 §6.6.1: a message with no From: field or several is typically rejected;
        // passed on, it would carry no DMARC verdict for the domain a reader sees.
        return Promise.resolve({
          kind: "reject",
          reply:
            `550 5.7.1 Delivery not authorized, message refused: DMARC cannot check a message with ${found.dmarcProblem}`,
        });
      }
      if (found.temperror && options.onTemperror === "tempfail") {
        return Promise.resolve({
          kind: "reject",
          reply: "451 4.7.0 Temporary failure checking SPF, DKIM and DMARC; try again later",
        });
      }
      return Promise.resolve(PROCEED);
    },
    close() {},
  };
}
