// Top-level statements other than listeners and rules: tables, certificates, queue and
// SMTP settings, bounces, filters and procs.

import { CIPHERS_NOT_APPLIED } from "./tls_protocols.ts";
import type { Token } from "./lexer.ts";
import { type ConfigBuilder, parseCount, parseDurationToken, parseInlineTable } from "./builder.ts";
import type { ProcDecl } from "./model.ts";
import { parseMtaLimit, parseMtaRate } from "./parse_mta.ts";
import { StatementError, type TokenStream } from "./stream.ts";
import { parseQueueKey } from "./queue_key.ts";
import { parseSize } from "./units.ts";

/** `table NAME [backend:]CONFIG` or `table NAME { … }`. */
export function parseTable(stream: TokenStream, builder: ConfigBuilder): void {
  const name = stream.value("a table name");
  if (stream.peek().kind === "{") {
    builder.declareTable(parseInlineTable(stream, name.value, false, name.position));
    return;
  }
  const source = stream.value("a table source");
  const colon = source.value.indexOf(":");
  const [backend, config] = colon > 0 && !source.value.startsWith("/")
    ? [source.value.slice(0, colon), source.value.slice(colon + 1)]
    : ["file", source.value];
  if (config === "") throw new StatementError("Missing table path", source.position);
  builder.declareTable({
    name: name.value,
    source: { kind: "backend", backend, config },
    anonymous: false,
    position: name.position,
  });
}

/**
 * `pki NAME SETTING…` with settings `cert|certificate FILE`, `key FILE`,
 * `dhe none|legacy|auto`, and 5.x's `dhparams FILE` (accepted, without effect): one or
 * several on a line, as parse.y's `pki_params` list allows.
 */
export function parsePki(stream: TokenStream, builder: ConfigBuilder): void {
  const name = stream.value("a pki name");
  // A pki is named after a host: its name is one case-insensitively, as parse.y lowercases it.
  const pki = builder.pki(name.value.toLowerCase(), name.position);
  do {
    const what = stream.expectWord("cert, key or dhe");
    switch (what.value) {
      case "cert":
      case "certificate":
        pki.cert = stream.value("a certificate file").value;
        break;
      case "key":
        pki.key = stream.value("a key file").value;
        break;
      case "dhe": {
        const dhe = stream.expectWord("none, legacy or auto");
        if (dhe.value !== "none" && dhe.value !== "legacy" && dhe.value !== "auto") {
          throw stream.unknown(dhe, ["none", "legacy", "auto"], "dhe setting");
        }
        pki.dhe = dhe.value;
        break;
      }
      case "dhparams":
        // OpenSMTPD 5.x read DH parameters from a file; 6.0 replaced them with `dhe`.
        stream.value("a DH parameters file");
        builder.ignored.push({ what: "pki … dhparams", position: what.position });
        break;
      default:
        throw stream.unknown(what, ["cert", "key", "dhe"], "pki setting");
    }
  } while (!stream.atEnd());
}

/** `ca NAME cert FILE`. */
export function parseCa(stream: TokenStream, builder: ConfigBuilder): void {
  const name = stream.value("a ca name");
  const what = stream.expectWord("cert");
  if (what.value !== "cert" && what.value !== "certificate") throw stream.unknown(what, ["cert"]);
  builder.declareCa({
    name: name.value,
    cert: stream.value("a CA file").value,
    position: name.position,
  });
}

/** `srs key [backup] SECRET`, `srs ttl DELAY`. */
export function parseSrs(stream: TokenStream, builder: ConfigBuilder): void {
  const what = stream.expectWord("key or ttl");
  builder.srs ??= {};
  if (what.value === "ttl") {
    const ttl = parseDurationToken(stream);
    if (ttl < 86400) throw new StatementError("The SRS ttl is at least one day", what.position);
    builder.srs.ttl = ttl;
    return;
  }
  if (what.value !== "key") throw stream.unknown(what, ["key", "ttl"]);
  if (stream.accept("backup")) builder.srs.backupKey = stream.value("a secret").value;
  else builder.srs.key = stream.value("a secret").value;
}

/** `queue compression|encryption [KEY]|ttl DELAY|path DIR|retry [mta D] [mda D]`. */
export function parseQueue(stream: TokenStream, builder: ConfigBuilder): void {
  const option = stream.expectWord("a queue option");
  switch (option.value) {
    case "path":
      builder.queue.path = stream.value("a directory").value;
      return;
    case "compression":
      builder.queue.compression = true;
      return;
    case "encryption": {
      // Legacy spelling: `queue encryption key K`.
      stream.accept("key");
      const key = stream.atEnd() ? undefined : stream.value("a key");
      builder.queue.encryption = key === undefined ? {} : { key: key.value };
      // A key in the file is checked here; `stdin` and `-` are read at start.
      if (key && key.value.toLowerCase() !== "stdin" && key.value !== "-") {
        try {
          parseQueueKey(key.value);
        } catch (error) {
          throw new StatementError((error as Error).message, key.position);
        }
      }
      return;
    }
    case "ttl":
      builder.queue.ttl = parseDurationToken(stream);
      return;
    case "retry": {
      const retry: { mta?: number; mda?: number } = { ...builder.queue.retry };
      do {
        const agent = stream.expectWord("mta or mda");
        if (agent.value !== "mta" && agent.value !== "mda") {
          throw stream.unknown(agent, ["mta", "mda"], "agent");
        }
        const at = stream.peek().position;
        const base = parseDurationToken(stream);
        if (base < 1) throw new StatementError("The retry base is at least 1s", at);
        retry[agent.value] = base;
      } while (!stream.atEnd());
      builder.queue.retry = retry;
      return;
    }
    default:
      throw stream.unknown(
        option,
        ["path", "compression", "encryption", "ttl", "retry"],
        "queue option",
      );
  }
}

/** `smtp ciphers|limit|max-message-size|sub-addr-delim …`. */
export function parseSmtp(stream: TokenStream, builder: ConfigBuilder): void {
  const option = stream.expectWord("an smtp option");
  switch (option.value) {
    case "max-message-size":
      builder.smtp.maxMessageSize = parseSizeToken(stream);
      return;
    case "limit": {
      while (!stream.atEnd()) {
        const key = stream.expectWord("a limit");
        if (key.value === "max-rcpt") builder.smtp.maxRcpt = parseCount(stream, "number");
        else if (key.value === "max-mails") builder.smtp.maxMails = parseCount(stream, "number");
        else throw stream.unknown(key, ["max-rcpt", "max-mails"], "smtp limit");
      }
      return;
    }
    case "ciphers": {
      const list = stream.value("a cipher list");
      stream.warn(CIPHERS_NOT_APPLIED, list);
      builder.smtp.ciphers = list.value;
      return;
    }
    case "sub-addr-delim":
      return parseSubAddrDelim(stream, builder);
    case "greeting-delay":
      builder.smtp.greetingDelay = parseDurationToken(stream);
      return;
    case "timeout": {
      const at = stream.peek().position;
      const seconds = parseDurationToken(stream);
      if (seconds <= 0) throw new StatementError("The smtp timeout is at least 1s", at);
      builder.smtp.timeout = seconds;
      return;
    }
    default:
      throw stream.unknown(
        option,
        ["max-message-size", "limit", "ciphers", "sub-addr-delim", "greeting-delay", "timeout"],
        "smtp option",
      );
  }
}

/** `max-message-size SIZE` (legacy top level) and the smtp option share this. */
export function parseSizeToken(stream: TokenStream): number {
  const value = stream.value("a size");
  const size = parseSize(value.value);
  if (size === undefined) {
    throw new StatementError(
      `Bad size "${value.value}": expected a number with K, M or G`,
      value.position,
    );
  }
  return size;
}

/** `bounce warn-interval D[, D…]` (at most four). */
export function parseBounce(stream: TokenStream, builder: ConfigBuilder): void {
  const option = stream.expectWord("warn-interval");
  if (option.value !== "warn-interval") throw stream.unknown(option, ["warn-interval"]);
  parseBounceIntervals(stream, builder);
}

/** `D[, D…]`: the delays of delayed-delivery warnings (legacy `bounce-warn` too). */
export function parseBounceIntervals(stream: TokenStream, builder: ConfigBuilder): void {
  const intervals = [parseDurationToken(stream)];
  while (stream.peek().kind === ",") {
    stream.next();
    const at = stream.peek();
    intervals.push(parseDurationToken(stream));
    if (intervals.length > 4) {
      throw new StatementError("At most four bounce warn intervals", at.position);
    }
  }
  builder.bounceWarnIntervals = intervals;
}

/** `mta max-deferred N`, `mta limit …`, `mta rate …`. */
export function parseMta(stream: TokenStream, builder: ConfigBuilder): void {
  const option = stream.expectWord("an mta option");
  if (option.value === "max-deferred") {
    builder.mtaMaxDeferred = parseCount(stream, "number");
    // Held envelopes wait in the queue for their own retry here, never in such a cache.
    builder.ignored.push({ what: "mta max-deferred", position: option.position });
    return;
  }
  if (option.value === "limit") return parseMtaLimit(stream, builder);
  if (option.value === "rate") return parseMtaRate(stream, builder);
  throw stream.unknown(option, ["max-deferred", "limit", "rate"], "mta option");
}

/** `mda wrapper NAME "CMD"` (and `mda limit …`, accepted). */
export function parseMda(stream: TokenStream, builder: ConfigBuilder): void {
  const option = stream.expectWord("wrapper or limit");
  if (option.value === "limit") return ignoreRest(stream, builder, "mda limit", option);
  if (option.value !== "wrapper") throw stream.unknown(option, ["wrapper", "limit"]);
  const name = stream.value("a wrapper name");
  if (builder.mdaWrappers.has(name.value)) {
    throw new StatementError(`mda wrapper "${name.value}" is already declared`, name.position);
  }
  builder.mdaWrappers.set(name.value, stream.value("a command").value);
}

/** `proc NAME "CMD" [user U] [group G] [chroot DIR]`. */
export function parseProc(stream: TokenStream, builder: ConfigBuilder): void {
  const name = stream.value("a proc name");
  if (builder.procs.some((p) => p.name === name.value)) {
    throw new StatementError(`Proc "${name.value}" is already declared`, name.position);
  }
  const proc: { -readonly [K in keyof ProcDecl]: ProcDecl[K] } = {
    name: name.value,
    command: stream.value("a command").value,
    position: name.position,
  };
  builder.procs.push({ ...proc, ...parseProcOptions(stream) });
}

/**
 * The options a filter process may be started with, as `proc` and `filter … proc-exec` both
 * take them: `[user U] [group G]`. `chroot` is refused: a Deno process cannot chroot a child.
 */
export function parseProcOptions(stream: TokenStream): { user?: string; group?: string } {
  const options: { user?: string; group?: string } = {};
  while (!stream.atEnd()) {
    const option = stream.expectWord("user, group or chroot");
    if (option.value === "chroot") {
      throw new StatementError(
        "chroot is not supported: a Deno process cannot chroot its children; run the filter as its own user instead",
        option.position,
      );
    }
    if (option.value !== "user" && option.value !== "group") {
      throw stream.unknown(option, ["user", "group", "chroot"]);
    }
    options[option.value] = stream.value(option.value).value;
  }
  return options;
}

/** Statements accepted for compatibility whose settings have no effect here. */
export function skipRest(stream: TokenStream): void {
  while (!stream.atEnd()) stream.next();
}

/** Skips a statement that has no effect here, and records it so `-n` warns about it. */
export function ignoreRest(
  stream: TokenStream,
  builder: ConfigBuilder,
  what: string,
  at: Token,
): void {
  builder.ignored.push({ what, position: at.position });
  skipRest(stream);
}

/** `include "FILE"`. */
export function parseInclude(stream: TokenStream, _builder: ConfigBuilder, _first: Token): void {
  const path = stream.value("a file name");
  stream.endOfStatement();
  stream.include(path);
}

/** One printable character other than "@" (`smtp sub-addr-delim`). */
export function parseSubAddrDelim(stream: TokenStream, builder: ConfigBuilder): void {
  const value = stream.value("a character");
  if (!/^[\x21-\x3f\x41-\x7e]$/.test(value.value)) {
    throw new StatementError(
      `Bad sub-address delimiter "${value.value}": one printable character, not "@"`,
      value.position,
    );
  }
  builder.smtp.subAddrDelim = value.value;
}
