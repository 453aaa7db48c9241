// Runs sendmail as a child process against a scratch queue, as cron or a mail client
// would, and reads back what it queued: the process-level half of the sendmail fuzzer.

import { openQueue } from "../../src/queue/mod.ts";
import { checkQueued, describe, sendmailArgs, type SendmailCase } from "./_sendmail_cases.ts";

const CLI = new URL("../../cli.ts", import.meta.url).pathname;

/** A scratch directory with a configuration that accepts every local recipient. */
export interface SendmailScratch {
  readonly dir: string;
  readonly conf: string;
}

/** Creates the scratch directory and its configuration (remove `dir` when done). */
export async function sendmailScratch(): Promise<SendmailScratch> {
  const dir = await Deno.makeTempDir({ prefix: "smtpd-sendmail-bytes-" });
  const conf = `${dir}/smtpd.conf`;
  await Deno.writeTextFile(
    conf,
    `queue path "${dir}/queue"
table vusers { "@example.test" = "vmail", "@mx.example.test" = "vmail" }
table vbase { vmail = "${Deno.uid()}:${Deno.gid()}:/nonexistent" }
action "local" maildir "${dir}/mail/%{rcpt.user}" virtual <vusers> userbase <vbase>
match from local for any action "local"
`,
  );
  return { dir, conf };
}

/** What a sendmail run gave. */
export interface SendmailRun {
  readonly code: number;
  readonly stderr: string;
  /** The msgid it reported (-v) when it queued. */
  readonly msgid?: string;
}

/** Runs `sendmail -v -C CONF ARGS…` with `input` on standard input (killed after `timeoutMs`). */
export async function runSendmailProcess(
  scratch: SendmailScratch,
  args: readonly string[],
  input: Uint8Array,
  timeoutMs = 120_000,
): Promise<SendmailRun> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, "sendmail", "-v", "-C", scratch.conf, ...args],
    // The server name the in-process run uses (smtpd.conf has no statement for it).
    env: { SMTPD_MAILNAME: "mx.example.test" },
    signal: AbortSignal.timeout(timeoutMs),
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(input);
  await writer.close();
  const out = await child.output();
  const stderr = new TextDecoder().decode(out.stderr);
  const msgid = /queued as ([0-9a-f]+)/.exec(stderr)?.[1];
  return { code: out.code, stderr, ...(msgid ? { msgid } : {}) };
}

/** The content of a queued message, as stored, and its recipients. */
export async function readQueued(
  scratch: SendmailScratch,
  msgid: string,
): Promise<{ content: Uint8Array; recipients: string[] }> {
  const queue = await openQueue(`${scratch.dir}/queue`);
  try {
    const content = await queue.content(msgid);
    if (!content) throw new Error(`message ${msgid} is not in the queue`);
    const recipients = queue.envelopes().filter((e) => e.msgid === msgid).map((e) => e.rcpt);
    return { content, recipients };
  } finally {
    queue.close();
  }
}

/**
 * Runs a case as a child process: queued byte for byte (checkQueued) with exit 0, or
 * refused with exit 64 and a message, nothing queued. Throws on anything else.
 */
export async function checkCaseAsProcess(
  scratch: SendmailScratch,
  c: SendmailCase,
  timeoutMs?: number,
): Promise<void> {
  const run = await runSendmailProcess(scratch, sendmailArgs(c), c.input, timeoutMs);
  const context = `exit ${run.code}, stderr ${JSON.stringify(run.stderr)}\n${describe(c)}`;
  if (run.code !== c.exit) throw new Error(`expected exit ${c.exit}: ${context}`);
  if (c.exit === 64) {
    if (!/^sendmail: .+/m.test(run.stderr) || run.msgid) {
      throw new Error(`a refusal without a message, or queued anyway: ${context}`);
    }
    return;
  }
  if (!run.msgid) throw new Error(`no "queued as" message: ${context}`);
  const { content } = await readQueued(scratch, run.msgid);
  try {
    checkQueued(c, content);
  } catch (error) {
    throw new Error(`${error instanceof Error ? error.message : error}\n${context}`);
  }
}
