// Delivery Status Notification parameters (RFC 3461): RET and ENVID on MAIL, NOTIFY and
// ORCPT on RCPT (RFC 6533's utf-8 addresses too), validated here and carried on the
// message and its envelopes.

import { isPrintableEnvid } from "../mail/mod.ts";
import { isValidMailbox } from "./address.ts";

/** The DSN parameters of MAIL FROM. */
export interface MailDsn {
  readonly ret?: "FULL" | "HDRS";
  readonly envid?: string;
}

/** The DSN parameters of one RCPT TO. */
export interface RcptDsn {
  /** NEVER alone, or any of SUCCESS, FAILURE, DELAY. */
  readonly notify?: readonly ("NEVER" | "SUCCESS" | "FAILURE" | "DELAY")[];
  /**
   * `addr-type;address`, the address decoded: `rfc822;user@example.org`, or RFC 6533's
   * `utf-8;jörg@example.org`.
   */
  readonly orcpt?: string;
}

// RFC 3461 §4: xtext is printable ASCII but "+" and "=", with "+XX" hex escapes.
const XTEXT_REGEXP = /^(?:[\x21-\x2a\x2c-\x3c\x3e-\x7e]|\+[0-9A-F]{2})*$/;

/** Checks an xtext value. */
export function isXtext(value: string): boolean {
  return XTEXT_REGEXP.test(value);
}

/** Decodes `+XX` escapes of an xtext value. */
export function decodeXtext(value: string): string {
  return value.replace(
    /\+([0-9A-F]{2})/g,
    (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)),
  );
}

/** Reads RET/ENVID; a message for the reply when a value is invalid. */
export function parseMailDsn(
  params: ReadonlyMap<string, string>,
): { dsn: MailDsn } | { error: string } {
  const dsn: { ret?: "FULL" | "HDRS"; envid?: string } = {};
  const ret = params.get("RET");
  if (ret !== undefined) {
    const upper = ret.toUpperCase();
    if (upper !== "FULL" && upper !== "HDRS") return { error: "Invalid RET parameter" };
    dsn.ret = upper;
  }
  const envid = params.get("ENVID");
  if (envid !== undefined) {
    const decoded = isXtext(envid) ? decodeXtext(envid) : "";
    if (envid.length > 100 || !isPrintableEnvid(decoded)) {
      return { error: "Invalid ENVID parameter" };
    }
    dsn.envid = decoded;
  }
  return { dsn };
}

/**
 * Reads NOTIFY/ORCPT; a message for the reply when a value is invalid. `smtputf8`: the
 * transaction's MAIL said SMTPUTF8, so a `utf-8` ORCPT may hold UTF-8 as it is.
 */
export function parseRcptDsn(
  params: ReadonlyMap<string, string>,
  options: { readonly smtputf8: boolean },
): { dsn: RcptDsn } | { error: string } {
  const dsn: { notify?: NonNullable<RcptDsn["notify"]>; orcpt?: string } = {};
  const notify = params.get("NOTIFY");
  if (notify !== undefined) {
    const values = notify.toUpperCase().split(",");
    const known = ["NEVER", "SUCCESS", "FAILURE", "DELAY"];
    if (values.some((v) => !known.includes(v)) || new Set(values).size !== values.length) {
      return { error: "Invalid NOTIFY parameter" };
    }
    // RFC 3461 §4.1: NEVER cannot be combined with the others.
    if (values.includes("NEVER") && values.length > 1) {
      return { error: "NOTIFY=NEVER stands alone" };
    }
    dsn.notify = values as ("NEVER" | "SUCCESS" | "FAILURE" | "DELAY")[];
  }
  const orcpt = params.get("ORCPT");
  if (orcpt !== undefined) {
    const m = /^([A-Za-z0-9-]+);(.+)$/.exec(orcpt);
    if (!m) return { error: "Invalid ORCPT parameter" };
    const type = m[1]!.toLowerCase();
    const value = m[2]!;
    // RFC 6533 §3: a utf-8 address has its own encoding; the others are xtext.
    const address = type === "utf-8"
      ? decodeUtf8Address(value, options)
      : isXtext(value)
      ? decodeXtext(value)
      : undefined;
    if (address === undefined) return { error: "Invalid ORCPT parameter" };
    dsn.orcpt = `${type};${address}`;
  }
  return { dsn };
}

// RFC 6533 §3, utf-8-addr-xtext and (with SMTPUTF8) utf-8-addr-unitext: QCHARs (printable
// ASCII but "+", "=" and "\"), UTF-8 as it is in unitext, and "\x{HEXPOINT}" for "\" or a
// code point outside ASCII (HEXPOINT also names the xtext specials, but not ASCII letters).
const QCHAR = String.raw`[\x21-\x2a\x2c-\x3c\x3e-\x5b\x5d-\x7e]`;
const HEX = "[0-9A-Fa-f]";
// Two digits for the specials, "\" and U+0080–U+00FF; then 3 to 6 digits, no surrogates.
const HEXPOINT = `(?:[01][1-9]|10|20|2[Bb]|3[Dd]|7[Ff]|5[Cc]|[89A-Fa-f]${HEX}|` +
  `[1-9A-Fa-f]${HEX}{2}|[1-9A-Ca-cEeFf]${HEX}{3}|[Dd][0-7]${HEX}{2}|[1-9A-Fa-f]${HEX}{4}|` +
  `10${HEX}{4})`;
const EMBEDDED_UNICODE = String.raw`\\x\{` + HEXPOINT + String.raw`\}`;
const UTF8_ADDR_XTEXT_REGEXP = new RegExp(`^(?:${QCHAR}|${EMBEDDED_UNICODE})+$`);
const UTF8_ADDR_UNITEXT_REGEXP = new RegExp(
  `^(?:${QCHAR}|[\\u0080-\\uffff]|${EMBEDDED_UNICODE})+$`,
);

// The address of a `utf-8` ORCPT, decoded; undefined when it is in neither form, or is no
// mailbox once decoded (RFC 6533: it MUST follow utf-8-address then).
function decodeUtf8Address(
  value: string,
  options: { readonly smtputf8: boolean },
): string | undefined {
  const form = options.smtputf8 ? UTF8_ADDR_UNITEXT_REGEXP : UTF8_ADDR_XTEXT_REGEXP;
  if (!form.test(value)) return undefined;
  const address = value.replace(
    /\\x\{([0-9A-Fa-f]+)\}/g,
    (_m, hex: string) => String.fromCodePoint(parseInt(hex, 16)),
  );
  return isValidMailbox(address) ? address : undefined;
}
