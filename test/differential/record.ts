// Records OpenSMTPD's answers for the differential test: for each case, starts the real
// smtpd in the foreground on 127.0.0.1 with the case's configuration and tables (db: files
// made by its own makemap), asks every probe, and writes recorded/CASE.json.
// Run as root where OpenSMTPD is installed (Debian: apt-get install opensmtpd), with no other
// smtpd running (they share the queue and control socket):
//   deno run -A test/differential/record.ts [/usr/sbin/smtpd]

import { CASES, configText, envelopeCount } from "./_cases.ts";
import { type CaseRecord, probeCase } from "./_probe.ts";
import { freePort, waitListening } from "../_helpers.ts";

const SMTPD = Deno.args[0] ?? "/usr/sbin/smtpd";
const MAKEMAP = SMTPD.replace(/smtpd$/, "makemap");
const OUT = new URL("./recorded/", import.meta.url).pathname;

async function run(command: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(command, { args, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`${command} ${args.join(" ")}: ${text}`);
  return text;
}

if (Deno.uid() !== 0) throw new Error("record.ts runs OpenSMTPD, which starts as root");
const running = await new Deno.Command("pgrep", { args: ["-x", "smtpd"], stdout: "null" }).output();
if (running.success) throw new Error("another smtpd is running: stop it first");
const version = (await run(SMTPD, ["-h"]).catch((e: Error) => e.message)).match(/OpenSMTPD \S+/)
  ?.[0];
await Deno.mkdir(OUT, { recursive: true });

for (const c of CASES) {
  const dir = await Deno.makeTempDir({ prefix: `osmtpd-${c.name}-` });
  await Deno.chmod(dir, 0o755);
  for (const file of c.files) {
    await Deno.writeTextFile(`${dir}/${file.name}`, file.text);
    if (file.makemap) {
      await run(MAKEMAP, [
        ...(file.makemap === "map" ? [] : ["-t", file.makemap]),
        `${dir}/${file.name}`,
      ]);
    }
  }
  const port = freePort();
  await Deno.writeTextFile(`${dir}/smtpd.conf`, configText(c, dir, port));
  await run(SMTPD, ["-n", "-f", `${dir}/smtpd.conf`]);
  const smtpd = new Deno.Command(SMTPD, {
    args: ["-d", "-f", `${dir}/smtpd.conf`],
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    await waitListening(port);
    const record: CaseRecord = {
      case: c.name,
      server: version ?? SMTPD,
      results: await probeCase(c, port),
    };
    await Deno.writeTextFile(`${OUT}/${c.name}.json`, JSON.stringify(record, null, 1) + "\n");
    console.log(`${c.name}: recorded`);
  } finally {
    smtpd.kill("SIGTERM");
    await smtpd.status;
    await Deno.remove(dir, { recursive: true });
  }
}
console.log(`${envelopeCount()} envelopes in ${CASES.length} cases`);
