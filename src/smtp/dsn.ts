// Delivery Status Notification parameters (RFC 3461): RET and ENVID on MAIL, NOTIFY and
// ORCPT on RCPT, validated here and carried on the message and its envelopes.

/** The DSN parameters of MAIL FROM. */
export interface MailDsn {
  readonly ret?: "FULL" | "HDRS";
  readonly envid?: string;
}

/** The DSN parameters of one RCPT TO. */
export interface RcptDsn {
  /** NEVER alone, or any of SUCCESS, FAILURE, DELAY. */
  readonly notify?: readonly ("NEVER" | "SUCCESS" | "FAILURE" | "DELAY")[];
  /** `addr-type;xtext`, e.g. `rfc822;user@example.org`. */
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
    if (envid === "" || envid.length > 100 || !isXtext(envid)) {
      return { error: "Invalid ENVID parameter" };
    }
    dsn.envid = decodeXtext(envid);
  }
  return { dsn };
}

/** Reads NOTIFY/ORCPT; a message for the reply when a value is invalid. */
export function parseRcptDsn(
  params: ReadonlyMap<string, string>,
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
    if (!m || !isXtext(m[2]!)) return { error: "Invalid ORCPT parameter" };
    dsn.orcpt = `${m[1]!.toLowerCase()};${decodeXtext(m[2]!)}`;
  }
  return { dsn };
}
