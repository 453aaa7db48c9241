// The daemon the SMTP fuzzer attacks: a child process in a scratch directory with a plain
// listener and (when openssl can make a certificate) an SMTPS listener offering AUTH, small
// limits so that sessions reach them, and one Maildir that every accepted message lands in.

import { hashPassword } from "../../src/auth/mod.ts";
import { testCertificate } from "../_certificate.ts";
import { freePort, OWN_IDS, waitListening } from "../_helpers.ts";
import { residentMegabytes } from "../_memory.ts";

const CLI = new URL("../../cli.ts", import.meta.url).pathname;
// Only the end of the daemon's log is kept, for the report of a crash.
const LOG_TAIL = 16_384;
// SIGTERM gives sessions and deliveries 10 s; a daemon still there well after that hangs.
const STOP_MS = 30_000;

/** The user and password the SMTPS listener accepts. */
export const FUZZ_USER = "fuzz";
export const FUZZ_PASSWORD = "fuzz-secret";

/** A running fuzz daemon. */
export interface FuzzDaemon {
  /** The plain listener. */
  readonly port: number;
  /** The SMTPS listener with AUTH; undefined when no certificate could be made. */
  readonly tlsPort: number | undefined;
  /** The CA that signed the listener's certificate. */
  readonly caCerts: string[];
  /** The process id of the daemon running now. */
  readonly pid: number;
  /** The Maildir every accepted message is delivered to. */
  readonly mailDir: string;
  /** False once the process has exited. */
  alive(): boolean;
  /** How it exited, and the end of its log. */
  deathReport(): string;
  /** Resident memory now, in MB. */
  residentMegabytes(): number;
  /** Starts it again on the same queue and configuration (after a crash). */
  restart(): Promise<void>;
  /** Stops it (SIGTERM) and removes its directory. */
  stop(): Promise<void>;
}

/** Starts a fuzz daemon (without SMTPS, and saying so, when openssl is missing). */
export async function startFuzzDaemon(): Promise<FuzzDaemon> {
  const dir = await Deno.makeTempDir({ prefix: "smtpd-fuzz-" });
  const port = freePort();
  const cert = await testCertificate("mx.example.test");
  const tlsPort = cert ? freePort() : undefined;
  if (!cert) console.log("fuzz smtp: openssl is missing, so no SMTPS/AUTH sessions");
  const lines = [
    `queue path "${dir}/queue"`,
    "smtp max-message-size 64K",
    "smtp limit max-rcpt 4 max-mails 3",
    `listen on 127.0.0.1 port ${port} hostname mx.example.test`,
  ];
  if (cert && tlsPort) {
    await Deno.writeTextFile(`${dir}/cert.pem`, cert.cert);
    await Deno.writeTextFile(`${dir}/key.pem`, cert.key);
    await Deno.writeTextFile(`${dir}/creds`, `${FUZZ_USER} ${hashPassword(FUZZ_PASSWORD)}\n`);
    lines.push(
      `pki mx.example.test certificate "${dir}/cert.pem"`,
      `pki mx.example.test key "${dir}/key.pem"`,
      `table creds file:${dir}/creds`,
      `listen on 127.0.0.1 port ${tlsPort} smtps pki mx.example.test auth-optional <creds> hostname mx.example.test`,
    );
  }
  lines.push(
    `action "local" maildir "${dir}/mail" virtual { "@example.test" = "vmail" } userbase { vmail = "${OWN_IDS}:/nonexistent" }`,
    `match from any for domain "example.test" action "local"`,
  );
  await Deno.writeTextFile(`${dir}/smtpd.conf`, lines.join("\n") + "\n");
  let running = await spawn(`${dir}/smtpd.conf`, port, tlsPort);
  return {
    port,
    tlsPort,
    caCerts: cert ? [cert.ca] : [],
    get pid() {
      return running.child.pid;
    },
    mailDir: `${dir}/mail`,
    alive: () => running.exit === undefined,
    deathReport: () => {
      const { exit, tail } = running;
      return `daemon exited (code ${exit?.code}, signal ${
        exit?.signal ?? "none"
      }); log ends:\n${tail}`;
    },
    residentMegabytes: () => residentMegabytes(running.child.pid),
    async restart() {
      await running.stop();
      running = await spawn(`${dir}/smtpd.conf`, port, tlsPort);
    },
    async stop() {
      try {
        await running.stop();
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  };
}

interface Running {
  readonly child: Deno.ChildProcess;
  readonly exit: Deno.CommandStatus | undefined;
  readonly tail: string;
  stop(): Promise<void>;
}

// Starts the daemon and waits for its listeners; the end of its log is kept.
async function spawn(conf: string, port: number, tlsPort: number | undefined): Promise<Running> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, "-d", "-u", "root", "-f", conf],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const state = {
    child,
    exit: undefined as Deno.CommandStatus | undefined,
    tail: "",
    async stop() {
      if (state.exit === undefined) child.kill("SIGTERM");
      let timer: ReturnType<typeof setTimeout> | undefined;
      const stopped = await Promise.race([
        status.then(() => true),
        new Promise<boolean>((resolve) => timer = setTimeout(() => resolve(false), STOP_MS)),
      ]);
      clearTimeout(timer);
      if (!stopped) child.kill("SIGKILL");
      await status;
      await pump;
      if (!stopped) throw new Error(`The daemon did not stop within ${STOP_MS} ms of SIGTERM`);
    },
  };
  const pump = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of child.stderr) {
      state.tail = (state.tail + decoder.decode(chunk, { stream: true })).slice(-LOG_TAIL);
    }
  })();
  const status = child.status.then((s) => state.exit = s);
  try {
    await waitListening(port);
    if (tlsPort) await waitListening(tlsPort);
  } catch (error) {
    if (state.exit === undefined) child.kill("SIGKILL");
    await status;
    await pump;
    throw new Error(`The fuzz daemon did not start: ${String(error)}\n${state.tail}`);
  }
  return state;
}
