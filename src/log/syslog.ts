// Where a detached daemon's log goes: syslog's mail facility over the /dev/log datagram
// socket (RFC 3164 lines, as OpenSMTPD logs), or, where that socket cannot be used, a
// log file of the daemon's own.

import { errorMessage } from "../mail/mod.ts";
import { isoNow, type SwitchableLogger } from "./logger.ts";

/** The syslog socket of Linux and the BSDs (journald listens there too). */
export const SYSLOG_SOCKET = "/dev/log";

// RFC 5424 §6.2.1: facility mail is 2; severities warning 4, info 6, debug 7.
const MAIL_FACILITY = 2;
const SEVERITY = { warn: 4, info: 6, debug: 7 } as const;

/** Where a detached daemon logs, and why it went there. */
export interface DaemonLog {
  readonly logger: SwitchableLogger;
  /** `syslog (mail) via /dev/log`, or the log file's path. */
  readonly destination: string;
  /** Why syslog was not used, when it was not. */
  readonly fallbackReason?: string;
  close(): void;
}

/** Options of {@link openDaemonLog}. */
export interface DaemonLogOptions {
  readonly verbose?: boolean;
  /** The syslog socket (default /dev/log). */
  readonly socketPath?: string;
  /** The file written when syslog cannot be used. */
  readonly fallbackFile: string;
  /** The program name in each line. */
  readonly ident?: string;
}

// Deno's unix datagram sockets exist only under --unstable-net.
type DatagramListen = (options: { transport: "unixpacket"; path: string }) => Deno.DatagramConn;

/**
 * Opens syslog's mail facility; when Deno lacks unix datagram sockets (no --unstable-net),
 * the socket is missing, or nothing reads it, appends to the fallback file instead.
 */
export async function openDaemonLog(options: DaemonLogOptions): Promise<DaemonLog> {
  const socketPath = options.socketPath ?? SYSLOG_SOCKET;
  const ident = options.ident ?? "smtpd";
  const listen = (Deno as unknown as { listenDatagram?: DatagramListen }).listenDatagram;
  let reason: string;
  if (typeof listen !== "function") {
    reason = "unix datagram sockets need deno run --unstable-net";
  } else {
    try {
      // An empty path binds an unnamed (abstract) address: nothing to clean up on exit.
      const conn = listen({ transport: "unixpacket", path: "" });
      const target = { transport: "unixpacket" as const, path: socketPath };
      const encoder = new TextEncoder();
      const format = (severity: number, line: string) =>
        encoder.encode(
          `<${MAIL_FACILITY * 8 + severity}>${stamp()} ${ident}[${Deno.pid}]: ${line}`,
        );
      // The first line proves someone reads the socket.
      await conn.send(format(SEVERITY.info, "logging to syslog"), target);
      const send = (severity: number) => (line: string) =>
        void conn.send(format(severity, line), target).catch(() => {});
      return {
        logger: switchable(send, options.verbose),
        destination: `syslog (mail) via ${socketPath}`,
        close: () => conn.close(),
      };
    } catch (error) {
      reason = `${socketPath}: ${errorMessage(error)}`;
    }
  }
  return { ...openLogFile(options), fallbackReason: reason };
}

function openLogFile(options: DaemonLogOptions): Omit<DaemonLog, "fallbackReason"> {
  const file = Deno.openSync(options.fallbackFile, { append: true, create: true, mode: 0o600 });
  const encoder = new TextEncoder();
  const write = (level: string) => (line: string) => {
    const data = encoder.encode(`${isoNow()} ${level}: ${line}\n`);
    let offset = 0;
    while (offset < data.byteLength) offset += file.writeSync(data.subarray(offset));
  };
  const level: Record<number, string> = {
    [SEVERITY.info]: "info",
    [SEVERITY.warn]: "warn",
    [SEVERITY.debug]: "debug",
  };
  return {
    logger: switchable((severity) => write(level[severity] ?? "info"), options.verbose),
    destination: options.fallbackFile,
    close: () => file.close(),
  };
}

// Debug lines only while verbose (`smtpctl log verbose|brief` switches it); traced ones always.
function switchable(
  writer: (severity: number) => (line: string) => void,
  verbose = false,
): SwitchableLogger {
  const debug = writer(SEVERITY.debug);
  return {
    info: writer(SEVERITY.info),
    warn: writer(SEVERITY.warn),
    debug: (line) => {
      if (verbose) debug(line);
    },
    trace: debug,
    setVerbose: (on) => void (verbose = on),
  };
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

// RFC 3164 §4.1.2: `Mmm dd hh:mm:ss` in local time, the day padded with a space.
function stamp(now = new Date()): string {
  const two = (n: number) => String(n).padStart(2, "0");
  return `${MONTHS[now.getMonth()]} ${String(now.getDate()).padStart(2, " ")} ` +
    `${two(now.getHours())}:${two(now.getMinutes())}:${two(now.getSeconds())}`;
}
