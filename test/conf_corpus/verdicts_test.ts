// `smtpd -n` says of every configuration in examples/ and test/conf_corpus/ what
// OpenSMTPD 6.8's `smtpd -n` said (recorded by record.ts), but where EXCEPTIONS says why not.

import { assertEquals } from "../assert.ts";
import { corpusFiles, type VerdictRecord, VERDICTS_PATH } from "./_corpus.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/**
 * The deliberate disagreements, each with its reason (README, Differences from OpenSMTPD).
 * One that comes to agree fails the test too, so that this list stays true.
 */
const EXCEPTIONS: Readonly<Record<string, string>> = {
  "examples/seed-baddies.conf": "the legacy accept/reject grammar is read here; 6.4+ refuses it",
  "examples/seed-first.conf":
    "lo0, the BSD loopback name, is listened on as lo with a warning; OpenSMTPD refuses an interface that does not exist",
  "examples/seed-order.conf": "the legacy accept/reject grammar is read here",
  "examples/smtpd.conf":
    "`queue path` is ours, and a macro may be named like a keyword (`port = 2525`)",
  "test/conf_corpus/legacy_lmtp_rcpt_to.conf":
    "the legacy grammar (6.0's lmtp rcpt-to) is read here",
  "test/conf_corpus/legacy_globals.conf":
    "the legacy grammar and its global statements (expire, bounce-warn, limit…) are read here",
  "test/conf_corpus/legacy_pki_certificate.conf":
    "5.x's `certificate` spelling and legacy rules are read here",
  "test/conf_corpus/port_names.conf":
    "two listeners on 127.0.0.1 port 465 (submissions, ssmtp) are refused at -n; OpenSMTPD accepts them, then cannot listen at start",
  "test/conf_corpus/pki_dhparams.conf": "5.x's `pki … dhparams` is accepted with a warning",
  "test/conf_corpus/curve.conf": "5.7's `curve` is accepted with a warning",
  "test/conf_corpus/keyword_as_value.conf":
    "an unquoted value that is also a keyword (`hostname mx`) is taken as the value",
};

const recorded: VerdictRecord = JSON.parse(await Deno.readTextFile(VERDICTS_PATH));

async function ourVerdict(file: string): Promise<{ verdict: "ok" | "error"; output: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}cli.ts`, "-n", "-f", `${ROOT}${file}`],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const output = new TextDecoder().decode(out.stderr).split("\n").slice(0, 6).join("\n");
  return { verdict: out.code === 0 ? "ok" : "error", output };
}

Deno.test("every corpus configuration has OpenSMTPD's recorded verdict, and nothing else does", () => {
  assertEquals(Object.keys(recorded.verdicts).sort(), corpusFiles());
  for (const file of Object.keys(EXCEPTIONS)) {
    assertEquals(file in recorded.verdicts, true, `${file} is an exception but not recorded`);
  }
});

Deno.test("smtpd -n gives OpenSMTPD 6.8's verdict on every example and corpus file", async () => {
  const files = corpusFiles();
  const ours = new Map<string, Awaited<ReturnType<typeof ourVerdict>>>();
  // A few at a time: each is a process.
  for (let i = 0; i < files.length; i += 4) {
    const batch = files.slice(i, i + 4);
    const verdicts = await Promise.all(batch.map(ourVerdict));
    batch.forEach((file, n) => ours.set(file, verdicts[n]!));
  }
  const problems: string[] = [];
  for (const file of files) {
    const theirs = recorded.verdicts[file]!;
    const mine = ours.get(file)!;
    const agree = theirs.verdict === mine.verdict;
    if (!agree && !(file in EXCEPTIONS)) {
      problems.push(
        `${file}: OpenSMTPD says ${theirs.verdict} (${theirs.output.join(" | ")}), ` +
          `this smtpd says ${mine.verdict}:\n${mine.output}`,
      );
    }
    if (agree && file in EXCEPTIONS) {
      problems.push(`${file}: now agrees with OpenSMTPD (${theirs.verdict}): drop its exception`);
    }
  }
  assertEquals(problems, []);
});
