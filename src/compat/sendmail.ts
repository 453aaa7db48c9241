// sendmail(8) as programs call it (cron, mailx, PHP, git send-email), for any local user:
// the message on standard input goes to the running daemon through its socket, else into
// the queue when it is the caller's own, else into the offline directory for the daemon
// to pick up (src/control). `-bs` speaks SMTP on standard input and output, `-bp` lists
// the queue, `-q` runs one delivery pass, `-bi` rebuilds aliases.

import { Command } from "commander";
import { withBareOptionalsLast } from "./attached_values.ts";
import { parseCommandLine } from "./command_line.ts";
import { type Config, filtersLocalMail } from "../config/mod.ts";
import {
  ControlUnavailable,
  dropOffline,
  EnqueueError,
  type LocalSubmission,
  offlineDirectory,
  prepareMessage,
  queueLocalSubmission,
  submitToDaemon,
} from "../control/mod.ts";
import {
  localSubmissionNoDsn,
  localSubmissionSession,
  openRuntime,
  queueDirectory,
  type Runtime,
  withRcptExpansion,
} from "../daemon/mod.ts";
import type { EnvelopeFacts, SessionFacts } from "../rules/mod.ts";
import { createLogger, SILENT_LOGGER } from "../log/mod.ts";
import { runSmtpOnStreams } from "../smtp/mod.ts";
import { parsePasswd } from "../tables/mod.ts";
import { loadCommandConfig, noDaemonForBrokenConfig } from "./config_file.ts";
import { runMailq } from "./mailq.ts";
import { runNewaliases } from "./makemap.ts";
import { runFlush } from "./flush_command.ts";
import { encodeXtext, errorMessage, EX, isPrintableEnvid } from "../mail/mod.ts";

interface SendmailFlags {
  b?: string;
  C?: string;
  f?: string;
  r?: string;
  F?: string;
  i?: boolean;
  o?: string[];
  t?: boolean;
  q?: string | boolean;
  v?: boolean;
  N?: string;
  R?: string;
  V?: string;
}

/** Runs `sendmail ARGS…`; resolves with a sysexits(3) code. */
export async function runSendmail(args: readonly string[]): Promise<number> {
  const program = new Command("sendmail")
    .description("queue a message read from standard input (sendmail-compatible)")
    .argument("[recipients...]")
    .option("-b <mode>", "m: deliver (default), s: SMTP on stdin/stdout, p: list, i: newaliases")
    .option("-C <file>", "use this configuration file")
    .option("-f <sender>", "envelope sender")
    .option("-r <sender>", "envelope sender (old spelling of -f)")
    .option("-F <name>", "full name for an added From: header")
    .option("-i", "ignored: the message is read to end of input, as OpenSMTPD's sendmail does")
    .option(
      "-o <option>",
      "sendmail option, accepted and ignored (-oi too: the input is read to its end)",
      collect,
      [],
    )
    .option("-t", "take recipients from the To:, Cc: and Bcc: headers")
    .option("-q [interval]", "run the queue once (as `queue flush`)")
    .option("-v", "verbose")
    .option("-N <notify>", "DSN NOTIFY: NEVER or SUCCESS,FAILURE,DELAY")
    .option("-R <ret>", "DSN RET: full or hdrs")
    .option("-V <envid>", "DSN ENVID")
    // Accepted and ignored, as OpenSMTPD's sendmail does.
    .option("-A <x>", "ignored")
    .option("-B <type>", "ignored")
    .option("-E [x]", "ignored")
    .option("-e <x>", "ignored")
    .option("-J [x]", "ignored")
    .option("-L <tag>", "ignored")
    .option("-m", "ignored")
    .option("-p <protocol>", "ignored")
    .option("-S", "ignored")
    .option("-x", "ignored")
    .helpOption("-h, --help", "show this help");
  // -E, -J and -q take a value only attached (`-Ex`), as getopt(3) reads OpenSMTPD's
  // `E::`: `sendmail -E bob@example.org` is mail for bob.
  const ended = parseCommandLine(program, withBareOptionalsLast(program, args));
  if (ended !== undefined) return ended;
  const flags = program.opts<SendmailFlags>();
  const recipients = program.args;
  const mode = flags.b ?? "m";
  const configFlag = flags.C;
  if (flags.q !== undefined) {
    return await runFlush(configFlag === undefined ? [] : ["-f", configFlag]);
  }
  switch (mode) {
    case "p":
      return await runMailq(configFlag === undefined ? [] : ["-C", configFlag]);
    case "i":
      return await runNewaliases(configFlag === undefined ? [] : ["-f", configFlag]);
    case "s":
      return await speakSmtp(configFlag, flags);
    case "m":
      return await enqueue(configFlag, flags, recipients);
    default:
      console.error(`sendmail: -b${mode} is not supported`);
      return EX.USAGE;
  }
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

async function enqueue(
  configFlag: string | undefined,
  flags: SendmailFlags,
  recipients: readonly string[],
): Promise<number> {
  const dsn = dsnOptions(flags);
  if ("error" in dsn) {
    console.error(`sendmail: ${dsn.error}`);
    return EX.USAGE;
  }
  const input = new Uint8Array(await new Response(Deno.stdin.readable).arrayBuffer());
  const sender = flags.f ?? flags.r;
  const submission: LocalSubmission = {
    recipients,
    ...(sender === undefined ? {} : { sender }),
    ...(flags.F === undefined ? {} : { fullName: flags.F }),
    extractRecipients: flags.t === true,
    // OpenSMTPD's enqueue.c reads standard input to its end and ignores -i and -o: a line
    // holding one dot is part of the message.
    ignoreDots: true,
    ...(dsn.notify ? { notify: dsn.notify } : {}),
    ...(dsn.ret ? { ret: dsn.ret } : {}),
    ...(dsn.envid ? { envid: dsn.envid } : {}),
  };
  // What is wrong with the message itself is said here, whichever way it then goes: an
  // offline file is read only later, by the daemon.
  try {
    prepareMessage({
      input,
      ...submission,
      hostname: "localhost",
      user: loginName(),
      msgid: "00000000",
      now: new Date(),
    });
  } catch (error) {
    console.error(`sendmail: ${errorMessage(error)}`);
    return error instanceof EnqueueError ? EX.USAGE : EX.SOFTWARE;
  }
  const loaded = await loadCommandConfig("sendmail", configFlag, [], { daemonOnly: true });
  if ("exit" in loaded) return loaded.exit;
  const queueDir = queueDirectory(loaded.config);
  const offlineDir = offlineDirectory(queueDir);
  const unavailable: string[] = [];
  // 1. Through the running daemon's socket.
  try {
    const answer = await submitToDaemon(offlineDir, { submission, input });
    if (answer.exit !== EX.OK) console.error(`sendmail: ${answer.error ?? "refused"}`);
    else if (flags.v) console.error(`sendmail: queued as ${answer.msgid} by the daemon`);
    return answer.exit;
  } catch (error) {
    if (!(error instanceof ControlUnavailable)) {
      // The message was sent: whether it was queued is unknown, so it is not sent again.
      console.error(`sendmail: the daemon did not answer: ${errorMessage(error)}`);
      return EX.TEMPFAIL;
    }
    // A file with errors may name the queue wrongly: no message is left where no daemon
    // may ever look, nor queued by rules that did not all parse.
    if (loaded.broken) return noDaemonForBrokenConfig("sendmail", errorMessage(error));
    unavailable.push(`no daemon answers: ${errorMessage(error)}`);
  }
  // 2. Into the queue itself, when it is this user's (or not made yet) and no filter
  // applies to local mail: filters run in the daemon, so such mail waits offline for it.
  const owner = await Deno.lstat(queueDir).then((info) => info.uid, () => Deno.uid());
  if (filtersLocalMail(loaded.config)) {
    unavailable.push("filters apply to local mail and run only in the daemon");
  } else if (owner === Deno.uid()) {
    return await withRuntime(loaded.config, flags, async (runtime) => {
      const outcome = await queueLocalSubmission({
        hostname: runtime.serverName,
        maxMessageSize: runtime.config.smtp.maxMessageSize,
        decide: withRcptExpansion(
          runtime,
          (envelope: EnvelopeFacts) =>
            runtime.ruleset(localSubmissionSession(runtime.config), envelope),
        ),
        commit: (message) => runtime.queue.commit(message),
        ...(localSubmissionNoDsn(runtime.config) ? { noDsn: true } : {}),
      }, { submission, input, user: loginName() });
      if ("error" in outcome) console.error(`sendmail: ${outcome.error}`);
      else if (flags.v) console.error(`sendmail: queued as ${outcome.msgid}`);
      return outcome.exit;
    });
  } else unavailable.push(`the queue ${queueDir} belongs to uid ${owner}`);
  // 3. Into the offline directory, for the daemon to pick up when it runs.
  try {
    const name = await dropOffline(offlineDir, { submission, input });
    if (flags.v) console.error(`sendmail: left for the daemon as ${offlineDir}/${name}`);
    return EX.OK;
  } catch (error) {
    unavailable.push(`cannot write to ${offlineDir}: ${errorMessage(error)}`);
  }
  console.error(`sendmail: cannot submit the message: ${unavailable.join("; ")}`);
  return EX.TEMPFAIL;
}

async function speakSmtp(configFlag: string | undefined, flags: SendmailFlags): Promise<number> {
  const loaded = await loadCommandConfig("sendmail", configFlag);
  if ("exit" in loaded) return loaded.exit;
  if (filtersLocalMail(loaded.config)) {
    // The filters run in the daemon: a session here would take mail past them.
    writeAll(
      new TextEncoder().encode(
        "421 4.3.0 Filters apply to local mail here: submit with sendmail without -bs\r\n",
      ),
    );
    return EX.TEMPFAIL;
  }
  return await withRuntime(loaded.config, flags, async (runtime) => {
    const config = runtime.config;
    await runSmtpOnStreams(
      {
        hostname: runtime.serverName,
        limits: {
          maxMessageSize: config.smtp.maxMessageSize,
          maxRcpt: config.smtp.maxRcpt,
          maxMails: config.smtp.maxMails,
        },
        decide: withRcptExpansion(
          runtime,
          (session: SessionFacts, envelope: EnvelopeFacts) => runtime.ruleset(session, envelope),
        ),
        submit: (message) => runtime.queue.commit(message).then(() => undefined),
        log: flags.v ? createLogger({ verbose: true }) : SILENT_LOGGER,
      },
      Deno.stdin.readable,
      (data) => writeAll(data),
    );
    return EX.OK;
  });
}

// Opens the configuration's queue and ruleset for one command, and always closes them.
async function withRuntime(
  config: Config,
  flags: SendmailFlags,
  work: (runtime: Runtime) => Promise<number>,
): Promise<number> {
  let runtime: Runtime;
  try {
    runtime = await openRuntime(config, {
      log: flags.v ? createLogger({ verbose: true }) : SILENT_LOGGER,
      inputHoldsMessageOf: "sendmail",
    });
  } catch (error) {
    console.error(`sendmail: ${errorMessage(error)}`);
    return error instanceof Deno.errors.PermissionDenied || error instanceof Deno.errors.NotCapable
      ? EX.NOPERM
      : EX.TEMPFAIL;
  }
  try {
    return await work(runtime);
  } finally {
    await runtime.close();
  }
}

function dsnOptions(
  flags: SendmailFlags,
): { notify?: string[]; ret?: "FULL" | "HDRS"; envid?: string } | { error: string } {
  const out: { notify?: string[]; ret?: "FULL" | "HDRS"; envid?: string } = {};
  if (flags.N !== undefined) {
    const notify = flags.N.toUpperCase().split(",").map((s) => s.trim());
    const valid = notify.every((n) => ["NEVER", "SUCCESS", "FAILURE", "DELAY"].includes(n));
    if (!valid || (notify.includes("NEVER") && notify.length > 1)) {
      return { error: `-N ${flags.N}: expected NEVER or a list of SUCCESS, FAILURE, DELAY` };
    }
    out.notify = notify;
  }
  if (flags.R !== undefined) {
    const ret = flags.R.toUpperCase();
    if (ret !== "FULL" && ret !== "HDRS") return { error: `-R ${flags.R}: expected full or hdrs` };
    out.ret = ret;
  }
  if (flags.V !== undefined) {
    // What MAIL FROM's ENVID= may carry (RFC 3461 §4.4): printable ASCII, 100 octets as xtext.
    if (!isPrintableEnvid(flags.V) || encodeXtext(flags.V).length > 100) {
      return { error: `-V: the envelope id must be printable ASCII, 100 characters at most` };
    }
    out.envid = flags.V;
  }
  return out;
}

// The caller's login name: from the password file by uid, as OpenSMTPD's enqueuer takes
// it, falling back to the environment where the file cannot be read.
function loginName(): string {
  try {
    const uid = Deno.uid();
    for (const user of parsePasswd(Deno.readTextFileSync("/etc/passwd")).values()) {
      if (user.uid === uid) return user.name;
    }
  } catch {
    // Fall through to the environment.
  }
  return Deno.env.get("LOGNAME") || Deno.env.get("USER") || "root";
}

function writeAll(data: Uint8Array): void {
  let offset = 0;
  while (offset < data.byteLength) offset += Deno.stdout.writeSync(data.subarray(offset));
}
