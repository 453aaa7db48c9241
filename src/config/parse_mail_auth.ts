// The mail authentication filter kinds (extensions to smtpd.conf(5) FILTERS):
// `dkim-sign domain D selector S key FILE` and
// `auth-verify [reject-dmarc] [on-temperror accept|tempfail]`, parsed and printed back.

import { printWord, quoteString } from "./lexer.ts";
import type { FilterSpec } from "./model.ts";
import { StatementError, type TokenStream } from "./stream.ts";

/** The filter kinds this file parses. */
export const MAIL_AUTH_KINDS: readonly string[] = ["dkim-sign", "auth-verify"];

type DkimSignSpec = Extract<FilterSpec, { kind: "dkim-sign" }>;
type AuthVerifySpec = Extract<FilterSpec, { kind: "auth-verify" }>;

const SIGN_OPTIONS = ["domain", "selector", "key"] as const;
const VERIFY_OPTIONS = ["reject-dmarc", "on-temperror"];
const DOMAIN_REGEXP =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$/;
// RFC 6376 §3.1: a selector is dot-separated sub-domain labels.
const SELECTOR_REGEXP =
  /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$/;

/** The words after `dkim-sign` or `auth-verify`. */
export function parseMailAuthSpec(stream: TokenStream, kind: string): FilterSpec {
  return kind === "dkim-sign" ? parseDkimSign(stream) : parseAuthVerify(stream);
}

function parseDkimSign(stream: TokenStream): DkimSignSpec {
  const found: Partial<Record<(typeof SIGN_OPTIONS)[number], string>> = {};
  const start = stream.peek().position;
  while (!stream.atEnd()) {
    const option = stream.expectWord("domain, selector or key");
    const name = SIGN_OPTIONS.find((o) => o === option.value);
    if (!name) throw stream.unknown(option, SIGN_OPTIONS);
    if (found[name] !== undefined) {
      throw new StatementError(`"${name}" is given twice`, option.position);
    }
    const value = stream.value(name === "key" ? "a key file" : `a ${name}`);
    const pattern = name === "domain" ? DOMAIN_REGEXP : name === "selector" ? SELECTOR_REGEXP : /./;
    if (!pattern.test(value.value)) {
      throw new StatementError(`Bad ${name} "${value.value}"`, value.position);
    }
    found[name] = value.value;
  }
  const missing = SIGN_OPTIONS.filter((o) => found[o] === undefined);
  if (missing.length > 0) {
    throw new StatementError(`dkim-sign needs ${missing.join(", ")}`, start);
  }
  return { kind: "dkim-sign", domain: found.domain!, selector: found.selector!, key: found.key! };
}

function parseAuthVerify(stream: TokenStream): AuthVerifySpec {
  let rejectDmarc = false;
  let onTemperror: AuthVerifySpec["onTemperror"] = "accept";
  while (!stream.atEnd()) {
    const option = stream.expectWord("reject-dmarc or on-temperror");
    if (option.value === "reject-dmarc") rejectDmarc = true;
    else if (option.value === "on-temperror") {
      const what = stream.expectWord("accept or tempfail");
      if (what.value !== "accept" && what.value !== "tempfail") {
        throw stream.unknown(what, ["accept", "tempfail"]);
      }
      onTemperror = what.value;
    } else throw stream.unknown(option, VERIFY_OPTIONS);
  }
  return { kind: "auth-verify", rejectDmarc, onTemperror };
}

/** The words after the kind, as `smtpd -nv` prints them. */
export function printMailAuthSpec(spec: DkimSignSpec | AuthVerifySpec): string[] {
  if (spec.kind === "dkim-sign") {
    return [
      "domain",
      printWord(spec.domain),
      "selector",
      printWord(spec.selector),
      "key",
      quoteString(spec.key),
    ];
  }
  return [
    ...(spec.rejectDmarc ? ["reject-dmarc"] : []),
    ...(spec.onTemperror === "tempfail" ? ["on-temperror", "tempfail"] : []),
  ];
}
