// Statements for operating the daemon, extensions of smtpd.conf: `metrics listen on ADDRESS
// [port N]` (a Prometheus endpoint), `log format text|json` (the log lines' format) and
// `control [socket PATH] [group NAME]` (where smtpctl finds the daemon, and who may steer it).

import type { Token } from "./lexer.ts";
import type { ConfigBuilder } from "./builder.ts";
import { parseCount } from "./builder.ts";
import { StatementError, type TokenStream } from "./stream.ts";

/** The metrics endpoint's port when the statement names none (as Prometheus exporters pick). */
export const DEFAULT_METRICS_PORT = 9154;

/** `metrics listen on ADDRESS [port N]`: an IP literal or `localhost`, never an interface. */
export function parseMetrics(stream: TokenStream, builder: ConfigBuilder, first: Token): void {
  stream.expectKeyword("listen");
  stream.expectKeyword("on");
  const address = stream.value("an IP address");
  if (!isAddressLiteral(address.value)) {
    throw new StatementError(
      `Bad metrics address "${address.value}": an IPv4 or IPv6 address, or localhost`,
      address.position,
    );
  }
  let port = DEFAULT_METRICS_PORT;
  if (stream.accept("port")) {
    const at = stream.peek().position;
    port = parseCount(stream, "port");
    if (port > 65535) throw new StatementError(`Bad port "${port}"`, at);
  }
  if (builder.metrics) {
    const at = builder.metrics.position;
    throw new StatementError(
      `metrics listen is already set (line ${at.line}); one endpoint serves every metric`,
      first.position,
    );
  }
  builder.metrics = { address: address.value, port, position: first.position };
}

/** `log format text|json`. */
export function parseLog(stream: TokenStream, builder: ConfigBuilder): void {
  stream.expectKeyword("format");
  const format = stream.expectWord("text or json");
  if (format.value !== "text" && format.value !== "json") {
    throw stream.unknown(format, ["text", "json"], "log format");
  }
  builder.logFormat = format.value;
}

/**
 * `control [socket PATH] [group NAME]`: another name for the daemon's socket (made by the
 * daemon when it runs as root), and a group whose members may run smtpctl's privileged
 * commands as root may.
 */
export function parseControl(stream: TokenStream, builder: ConfigBuilder, first: Token): void {
  let socket: string | undefined;
  let group: string | undefined;
  do {
    const option = stream.expectWord("socket or group");
    if (option.value === "socket" && socket === undefined) {
      const path = stream.value("a socket path");
      if (!path.value.startsWith("/")) {
        throw new StatementError(
          `Bad control socket "${path.value}": an absolute path`,
          path.position,
        );
      }
      socket = path.value;
    } else if (option.value === "group" && group === undefined) {
      const name = stream.value("a group name");
      if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*\$?$/.test(name.value)) {
        throw new StatementError(`Bad control group "${name.value}"`, name.position);
      }
      group = name.value;
    } else if (option.value === "socket" || option.value === "group") {
      throw new StatementError(`control ${option.value} is given twice`, option.position);
    } else {
      throw stream.unknown(option, ["socket", "group"], "control option");
    }
  } while (!stream.atEnd());
  if (builder.control) {
    throw new StatementError(
      `control is already set (line ${builder.control.position.line}); say it once`,
      first.position,
    );
  }
  builder.control = {
    ...(socket === undefined ? {} : { socket }),
    ...(group === undefined ? {} : { group }),
    position: first.position,
  };
}

function isAddressLiteral(text: string): boolean {
  if (text === "localhost") return true;
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(text)) {
    return text.split(".").every((part) => Number(part) <= 255);
  }
  // An IPv6 literal: hex groups and colons (Deno's listener checks it fully).
  return /^[0-9a-fA-F:.]+$/.test(text) && text.includes(":");
}
