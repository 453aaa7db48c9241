// libpq's connection strings, as table-postgres(5)'s `conninfo` takes them: `key=value`
// pairs (values quoted with '…', backslash escapes) or a postgresql:// URI (libpq §34.1.1).

import { TableContentError } from "./table_error.ts";

/** The connection settings this backend understands. */
export interface PostgresConnection {
  readonly host: string;
  readonly port: number;
  readonly user?: string;
  readonly password?: string;
  readonly database?: string;
  /** `sslmode`: disable (default), prefer or require, verify-ca, verify-full. */
  readonly ssl: false | "prefer" | "require" | "verify-full";
  readonly connectTimeoutS?: number;
}

const KEYWORDS = new Set([
  "host",
  "hostaddr",
  "port",
  "user",
  "password",
  "dbname",
  "sslmode",
  "connect_timeout",
  "application_name",
]);

/** Parses a conninfo string; a {@link TableContentError} says what is wrong. */
export function parseConninfo(text: string, line?: number): PostgresConnection {
  const pairs = /^postgres(ql)?:\/\//.test(text) ? uriPairs(text, line) : keywordPairs(text, line);
  for (const key of pairs.keys()) {
    if (!KEYWORDS.has(key)) throw new TableContentError(`conninfo: unknown keyword "${key}"`, line);
  }
  const port = Number(pairs.get("port") ?? 5432);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new TableContentError(`conninfo: port "${pairs.get("port")}" is not a port`, line);
  }
  const sslmode = pairs.get("sslmode") ?? "disable";
  const ssl = sslmode === "disable" || sslmode === "allow"
    ? false
    : sslmode === "prefer" || sslmode === "require"
    ? sslmode
    : sslmode === "verify-ca" || sslmode === "verify-full"
    ? "verify-full"
    : undefined;
  if (ssl === undefined) {
    throw new TableContentError(`conninfo: unknown sslmode "${sslmode}"`, line);
  }
  const timeout = pairs.get("connect_timeout");
  const user = pairs.get("user");
  const password = pairs.get("password");
  const database = pairs.get("dbname");
  return {
    host: pairs.get("hostaddr") ?? pairs.get("host") ?? "localhost",
    port,
    ...(user === undefined ? {} : { user }),
    ...(password === undefined ? {} : { password }),
    ...(database === undefined ? {} : { database }),
    ssl,
    ...(timeout === undefined ? {} : { connectTimeoutS: Number(timeout) }),
  };
}

function keywordPairs(text: string, line?: number): Map<string, string> {
  const pairs = new Map<string, string>();
  let i = 0;
  const skipBlanks = () => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  skipBlanks();
  while (i < text.length) {
    const eq = text.indexOf("=", i);
    if (eq < 0) throw new TableContentError(`conninfo: "${text.slice(i)}" has no "="`, line);
    const key = text.slice(i, eq).trim();
    i = eq + 1;
    while (text[i] === " ") i++;
    let value = "";
    if (text[i] === "'") {
      i++;
      while (i < text.length && text[i] !== "'") {
        if (text[i] === "\\" && i + 1 < text.length) i++;
        value += text[i++];
      }
      if (text[i] !== "'") throw new TableContentError(`conninfo: unterminated quote`, line);
      i++;
    } else {
      while (i < text.length && !/\s/.test(text[i]!)) {
        if (text[i] === "\\" && i + 1 < text.length) i++;
        value += text[i++];
      }
    }
    pairs.set(key, value);
    skipBlanks();
  }
  return pairs;
}

function uriPairs(text: string, line?: number): Map<string, string> {
  let url: URL;
  try {
    url = new URL(text.replace(/^postgres(ql)?:/, "http:"));
  } catch {
    throw new TableContentError(`conninfo: "${text}" is not a postgresql:// URI`, line);
  }
  const pairs = new Map<string, string>();
  if (url.hostname) pairs.set("host", url.hostname.replace(/^\[|\]$/g, ""));
  if (url.port) pairs.set("port", url.port);
  if (url.username) pairs.set("user", decodeURIComponent(url.username));
  if (url.password) pairs.set("password", decodeURIComponent(url.password));
  const db = decodeURIComponent(url.pathname.slice(1));
  if (db) pairs.set("dbname", db);
  for (const [key, value] of url.searchParams) pairs.set(key, value);
  return pairs;
}
