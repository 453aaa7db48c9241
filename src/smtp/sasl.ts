// SASL exchanges of SMTP AUTH (RFC 4954): PLAIN (RFC 4616) and LOGIN, with or without an
// initial response. A mechanism is a small state machine fed one client line at a time.

/** What the session does next in an exchange. */
export type SaslStep =
  | { readonly kind: "challenge"; readonly text: string }
  | { readonly kind: "credentials"; readonly user: string; readonly password: string }
  | {
    readonly kind: "error";
    readonly reason: "cancelled" | "malformed";
    /** The step that failed, as OpenSMTPD's log names it: `AUTH LOGIN (password)`. */
    readonly logged: string;
  };

/** One exchange in progress: feed it the client's lines. */
export interface SaslExchange {
  next(line: string): SaslStep;
}

/** The mechanisms offered, in EHLO order. */
export const SASL_MECHANISMS = ["PLAIN", "LOGIN"] as const;

/** Starts an exchange; undefined for a mechanism not offered. */
export function startSasl(mechanism: string, initial: string | undefined): {
  exchange: SaslExchange;
  first: SaslStep;
} | undefined {
  switch (mechanism.toUpperCase()) {
    case "PLAIN":
      return startPlain(initial);
    case "LOGIN":
      return startLogin(initial);
    default:
      return undefined;
  }
}

function startPlain(initial: string | undefined) {
  const exchange: SaslExchange = { next: (line) => decodePlain(line) };
  // RFC 4954 §4: "=" is an empty initial response; none at all asks for one.
  const first: SaslStep = initial === undefined
    ? { kind: "challenge", text: "" }
    : decodePlain(initial);
  return { exchange, first };
}

const PLAIN_STEP = "AUTH PLAIN (...)";

function decodePlain(line: string): SaslStep {
  if (line === "*") return { kind: "error", reason: "cancelled", logged: PLAIN_STEP };
  const text = decodeBase64(line === "=" ? "" : line);
  if (text === undefined) return { kind: "error", reason: "malformed", logged: PLAIN_STEP };
  const parts = text.split("\0");
  if (parts.length !== 3 || parts[1] === "") {
    return { kind: "error", reason: "malformed", logged: PLAIN_STEP };
  }
  return { kind: "credentials", user: parts[1]!, password: parts[2]! };
}

const USERNAME = btoa("Username:");
const PASSWORD = btoa("Password:");

function startLogin(initial: string | undefined) {
  let user: string | undefined;
  const take = (line: string): SaslStep => {
    const logged = user === undefined ? "AUTH LOGIN (username)" : "AUTH LOGIN (password)";
    if (line === "*") return { kind: "error", reason: "cancelled", logged };
    const text = decodeBase64(line);
    if (text === undefined) return { kind: "error", reason: "malformed", logged };
    if (user === undefined) {
      user = text;
      return { kind: "challenge", text: PASSWORD };
    }
    return { kind: "credentials", user, password: text };
  };
  const first = initial === undefined
    ? { kind: "challenge" as const, text: USERNAME }
    : take(initial);
  return { exchange: { next: take }, first };
}

const BASE64_REGEXP = /^[A-Za-z0-9+/]*={0,2}$/;

function decodeBase64(text: string): string | undefined {
  if (!BASE64_REGEXP.test(text) || text.length % 4 !== 0) return undefined;
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(
      Uint8Array.from(atob(text), (c) => c.charCodeAt(0)),
    );
  } catch {
    return undefined;
  }
}
