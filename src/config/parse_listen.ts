// `listen on ADDRESS [options]`, in both grammars: the legacy options are a subset.

import type { Token } from "./lexer.ts";
import { type ConfigBuilder, type Mutable, parseTableArgument, startsTable } from "./builder.ts";
import { WELL_KNOWN_PORTS } from "./defaults.ts";
import type { Listener } from "./model.ts";
import { StatementError, type TokenStream } from "./stream.ts";
import { CIPHERS_NOT_APPLIED, parseTlsProtocols } from "./tls_protocols.ts";

const LISTEN_OPTIONS = [
  "port",
  "family",
  "inet4",
  "inet6",
  "hostname",
  "hostnames",
  "ciphers",
  "protocols",
  "tag",
  "tls",
  "tls-require",
  "smtps",
  "pki",
  "ca",
  "auth",
  "auth-optional",
  "senders",
  "mask-src",
  "no-dsn",
  "proxy-v2",
  "received-auth",
  "filter",
  "secure",
];

// What `listen on socket` takes (parse.y's opt_sock_listen): the socket has no port, no
// TLS, no AUTH and no name of its own to offer.
const SOCKET_OPTIONS = new Set(["filter", "mask-src", "mask-source", "no-dsn", "tag"]);

/** Parses the statement after `listen`. */
export function parseListen(stream: TokenStream, builder: ConfigBuilder, first: Token): void {
  stream.expectKeyword("on");
  const address = stream.value("an address or interface");
  if (address.value === "socket" && builder.listeners.some((l) => l.address === "socket")) {
    throw new StatementError("listen on socket is already declared", first.position);
  }
  const listener: Mutable<Listener> = {
    address: address.value,
    addressPosition: address.position,
    port: WELL_KNOWN_PORTS.smtp,
    position: first.position,
  };
  let portGiven = false;
  // Every option that takes one value is refused when repeated: a second one would silently
  // replace the first (parse.y says "… already specified").
  const given = new Set<string>();
  const once = (option: Token, what: string = option.value) => {
    if (given.has(what)) throw new StatementError(`${what} already specified`, option.position);
    given.add(what);
  };
  let pkiToken: Token | undefined;
  let caToken: Token | undefined;
  while (!stream.atEnd()) {
    const option = stream.expectWord("a listen option");
    if (address.value === "socket" && !SOCKET_OPTIONS.has(option.value)) {
      throw new StatementError(
        `"${option.value}" cannot be used on listen on socket: it takes filter, mask-src, ` +
          "no-dsn and tag",
        option.position,
      );
    }
    switch (option.value) {
      case "port":
        once(option, "port");
        listener.port = parsePort(stream, builder.services);
        portGiven = true;
        break;
      case "submission":
        // Legacy: `listen on IF submission` means port 587.
        once(option, "port");
        listener.port = WELL_KNOWN_PORTS.submission;
        portGiven = true;
        break;
      case "family": {
        once(option, "address family");
        const family = stream.expectWord("inet4 or inet6");
        if (family.value !== "inet4" && family.value !== "inet6") {
          throw stream.unknown(family, ["inet4", "inet6"], "address family");
        }
        listener.family = family.value;
        break;
      }
      case "inet4":
      case "inet6":
        once(option, "address family");
        listener.family = option.value;
        break;
      case "hostname":
        once(option);
        listener.hostname = stream.value("a host name").value;
        break;
      case "hostnames":
        once(option);
        listener.hostnames = parseTableArgument(stream, builder);
        break;
      case "ciphers": {
        once(option);
        const list = stream.value("an OpenSSL cipher list");
        stream.warn(CIPHERS_NOT_APPLIED, list);
        listener.ciphers = list.value;
        break;
      }
      case "protocols": {
        once(option);
        const value = stream.value("a TLS protocol list");
        const range = parseTlsProtocols(value.value);
        if ("error" in range) throw new StatementError(range.error, value.position);
        listener.protocols = value.value;
        break;
      }
      case "tag": {
        once(option);
        const tag = stream.value("a tag");
        if (tag.value.length > 32) {
          throw new StatementError("A tag is at most 32 characters", tag.position);
        }
        listener.tag = tag.value;
        break;
      }
      case "tls":
      case "tls-require":
      case "smtps": {
        if (listener.tls && tlsWord(listener.tls) === option.value) {
          throw new StatementError("TLS mode already specified", option.position);
        }
        if (listener.tls) {
          throw new StatementError(
            `"${option.value}" conflicts with "${tlsWord(listener.tls)}"`,
            option.position,
          );
        }
        listener.tls = option.value === "tls"
          ? "starttls"
          : option.value === "smtps"
          ? "smtps"
          : "starttls-require";
        if (option.value !== "tls" && stream.accept("verify")) listener.verifyClient = true;
        break;
      }
      case "secure":
        // Legacy: `secure` offered both STARTTLS and SMTPS; STARTTLS is kept.
        if (listener.tls) {
          throw new StatementError(
            `"secure" conflicts with "${tlsWord(listener.tls)}"`,
            option.position,
          );
        }
        listener.tls = "starttls";
        break;
      case "pki": {
        // Several pki are presented by SNI; the same one twice is a slip.
        const name = stream.value("a pki name");
        const pki = name.value.toLowerCase();
        if (listener.pki?.includes(pki)) {
          throw new StatementError(`pki "${name.value}" already specified`, name.position);
        }
        pkiToken ??= option;
        listener.pki = [...(listener.pki ?? []), pki];
        break;
      }
      case "ca":
        once(option);
        caToken = option;
        listener.ca = stream.value("a ca name").value;
        break;
      case "auth":
      case "auth-optional": {
        once(option, "auth");
        const table = startsTable(stream) ? parseTableArgument(stream, builder) : undefined;
        listener.auth = { required: option.value === "auth", ...(table ? { table } : {}) };
        break;
      }
      case "senders": {
        once(option);
        const table = parseTableArgument(stream, builder);
        listener.senders = { table, masquerade: stream.accept("masquerade") };
        break;
      }
      case "mask-src":
      case "mask-source":
        once(option, "mask-src");
        listener.maskSource = true;
        break;
      case "no-dsn":
        once(option);
        listener.noDsn = true;
        break;
      case "proxy-v2":
        once(option);
        listener.proxyV2 = true;
        break;
      case "received-auth":
        once(option);
        listener.receivedAuth = true;
        break;
      case "filter":
        // A second `filter` would drop the first: refused, as `match` refuses it.
        once(option, "filter");
        listener.filters = parseNames(stream, "a filter name");
        break;
      default:
        throw stream.unknown(option, LISTEN_OPTIONS, "listen option");
    }
  }
  // Certificates are only presented by TLS (parse.y: "pki requires tls/smtps"); a ca
  // without TLS checks no client certificate.
  if (!listener.tls && listener.address !== "socket") {
    if (pkiToken) {
      throw new StatementError(
        "pki requires tls or smtps on the same listener",
        pkiToken.position,
      );
    }
    if (caToken) {
      stream.warn("ca has no effect without tls or smtps on the same listener", caToken);
    }
  }
  if (listener.tls === "smtps" && !portGiven) listener.port = WELL_KNOWN_PORTS.smtps;
  if (listener.address === "socket") listener.port = 0;
  builder.listeners.push(listener);
}

/** A port number or a TCP service name of services(5) (smtp, submissions, ssmtp…). */
export function parsePort(stream: TokenStream, services: ReadonlyMap<string, number>): number {
  const value = stream.value("a port");
  const named = services.get(value.value);
  if (named !== undefined) return named;
  if (!/^\d+$/.test(value.value)) {
    throw new StatementError(
      `Bad port "${value.value}": expected a number or a TCP service name of /etc/services`,
      value.position,
    );
  }
  const port = Number(value.value);
  if (port > 65535) {
    throw new StatementError(`Bad port "${value.value}": must be 0 to 65535`, value.position);
  }
  return port;
}

/** `NAME` or `{ a, b }`. */
export function parseNames(stream: TokenStream, what: string): string[] {
  if (stream.peek().kind !== "{") return [stream.value(what).value];
  const open = stream.next();
  const names: string[] = [];
  while (true) {
    stream.skipNewlines();
    const token = stream.next();
    // An empty list would name nothing and do nothing: OpenSMTPD's grammar refuses it.
    if (token.kind === "}" && names.length === 0) {
      throw new StatementError(`An empty list: expected ${what} in { }`, open.position);
    }
    if (token.kind === "}") return names;
    if (token.kind === ",") continue;
    if (token.kind !== "word" && token.kind !== "string") throw stream.unexpected(token, what);
    names.push(token.value);
  }
}

function tlsWord(tls: NonNullable<Listener["tls"]>): string {
  return tls === "starttls" ? "tls" : tls === "smtps" ? "smtps" : "tls-require";
}
