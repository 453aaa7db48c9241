// sendmail(8) as programs call it (cron, mailx, PHP, git send-email): the message on
// standard input goes straight into the queue file, so it works while the daemon is down;
// a running daemon notices it within a second. `-bs` speaks SMTP on standard input and
// output, `-bp` lists the queue, `-q` runs one delivery pass, `-bi` rebuilds aliases.

import { Command } from "commander";
import { parseCommandLine } from "./command_line.ts";
import { LOCAL_SESSION, openRuntime, type Runtime } from "../daemon/mod.ts";
import { createLogger, SILENT_LOGGER } from "../log/mod.ts";
import type { RuleVerdict } from "../rules/mod.ts";
import { runSmtpOnStreams } from "../smtp/mod.ts";
import { parsePasswd } from "../tables/mod.ts";
import { loadCommandConfig } from "./config_file.ts";
import { EnqueueError, prepareMessage } from "./enqueue.ts";
import { runMailq } from "./mailq.ts";
import { runNewaliases } from "./makemap.ts";
import { runFlush } from "./flush_command.ts";
import { errorMessage, EX, randomHex } from "../mail/mod.ts";

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
    .option("-i", "a line with a single dot does not end the message")
    .option(
      "-o <option>",
      "sendmail option: -oi as -i; others are accepted and ignored",
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
  const ended = parseCommandLine(program, args);
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
      return await runNewaliases([]);
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
  return await withRuntime(configFlag, flags, async (runtime) => {
    const msgid = randomHex(4);
    let prepared;
    try {
      prepared = prepareMessage({
        input,
        recipients,
        ...(flags.f ?? flags.r) === undefined ? {} : { sender: (flags.f ?? flags.r)! },
        ...(flags.F === undefined ? {} : { fullName: flags.F }),
        extractRecipients: flags.t === true,
        ignoreDots: flags.i === true || (flags.o ?? []).includes("i"),
        hostname: runtime.serverName,
        user: loginName(),
        msgid,
        now: new Date(),
      });
    } catch (error) {
      console.error(`sendmail: ${errorMessage(error)}`);
      return error instanceof EnqueueError ? EX.USAGE : EX.SOFTWARE;
    }
    if (prepared.content.byteLength > runtime.config.smtp.maxMessageSize) {
      console.error(
        `sendmail: message too large (${prepared.content.byteLength} bytes, the limit is ${runtime.config.smtp.maxMessageSize})`,
      );
      return EX.DATAERR;
    }
    // Every recipient goes through the ruleset as from the local socket; one refusal
    // refuses the message, so nothing is half sent.
    const envelopes = [];
    for (const rcpt of prepared.recipients) {
      const verdict: RuleVerdict = await runtime.ruleset(LOCAL_SESSION, {
        mailFrom: prepared.sender,
        rcptTo: rcpt,
      });
      if (verdict.kind !== "accept") {
        console.error(`sendmail: <${rcpt}>: ${verdict.reason}`);
        return verdict.kind === "tempfail" ? EX.TEMPFAIL : EX.NOUSER;
      }
      envelopes.push({
        rcpt,
        action: verdict.action,
        ...(verdict.user === undefined ? {} : { user: verdict.user }),
        ...(dsn.notify ? { dsnNotify: dsn.notify } : {}),
      });
    }
    try {
      await runtime.queue.commit({
        msgid,
        sender: prepared.sender,
        helo: "localhost",
        src: "local",
        content: prepared.content,
        envelopes,
        ...(dsn.ret ? { dsnRet: dsn.ret } : {}),
        ...(dsn.envid ? { dsnEnvid: dsn.envid } : {}),
      });
    } catch (error) {
      console.error(
        `sendmail: cannot queue the message: ${errorMessage(error)}`,
      );
      return EX.TEMPFAIL;
    }
    if (flags.v) console.error(`sendmail: queued as ${msgid}`);
    return EX.OK;
  });
}

async function speakSmtp(configFlag: string | undefined, flags: SendmailFlags): Promise<number> {
  return await withRuntime(configFlag, flags, async (runtime) => {
    const config = runtime.config;
    await runSmtpOnStreams(
      {
        hostname: runtime.serverName,
        limits: {
          maxMessageSize: config.smtp.maxMessageSize,
          maxRcpt: config.smtp.maxRcpt,
          maxMails: config.smtp.maxMails,
        },
        decide: (session, envelope) => runtime.ruleset(session, envelope),
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
  configFlag: string | undefined,
  flags: SendmailFlags,
  work: (runtime: Runtime) => Promise<number>,
): Promise<number> {
  const loaded = await loadCommandConfig("sendmail", configFlag);
  if ("exit" in loaded) return loaded.exit;
  let runtime: Runtime;
  try {
    runtime = await openRuntime(loaded.config, {
      log: flags.v ? createLogger({ verbose: true }) : SILENT_LOGGER,
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
  if (flags.V !== undefined) out.envid = flags.V;
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
