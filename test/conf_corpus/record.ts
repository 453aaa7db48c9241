// Records OpenSMTPD's `smtpd -n` verdict (ok or error, and what it printed) on every
// configuration of examples/ and of this corpus, for verdicts_test.ts to compare ours with.
// Run where OpenSMTPD is installed (Debian: apt-get install opensmtpd), as root, since it
// reads the corpus' key files (6.8's -n needs no system user: it parses and loads the
// pki files, then exits):
//   deno run -A test/conf_corpus/record.ts [/usr/sbin/smtpd]

import { corpusFiles, type VerdictRecord, VERDICTS_PATH } from "./_corpus.ts";

const SMTPD = Deno.args[0] ?? "/usr/sbin/smtpd";
const ROOT = new URL("../../", import.meta.url).pathname;

// OpenSMTPD wants a table's file as an absolute path; here it may be relative to the
// configuration's directory (a deliberate difference, see README). The copy OpenSMTPD reads
// has those paths made absolute, so its verdict is about everything else.
function absoluteTablePaths(text: string, dir: string): string {
  return text.replace(
    /^(\s*table\s+\S+\s+"?)(file|db):(?!\/)([^"\s]+)/gm,
    (_all, head: string, backend: string, path: string) => `${head}${backend}:${dir}/${path}`,
  );
}

const help = await new Deno.Command(SMTPD, { args: ["-h"], stderr: "piped", stdout: "piped" })
  .output().catch(() => undefined);
if (!help) throw new Error(`${SMTPD} cannot be run: install OpenSMTPD (Debian: opensmtpd)`);
const version = new TextDecoder().decode(help.stderr).match(/OpenSMTPD \S+/)?.[0] ?? SMTPD;

// OpenSMTPD refuses a key others may read, and git checks files out 0644: the corpus'
// keys are made 0600 first (git keeps no such mode, so the checkout stays unchanged).
for (const entry of Deno.readDirSync(`${ROOT}test/conf_corpus/files`)) {
  if (entry.name.endsWith(".key")) {
    await Deno.chmod(`${ROOT}test/conf_corpus/files/${entry.name}`, 0o600);
  }
}

const scratch = await Deno.makeTempDir({ prefix: "smtpd-n-corpus-" });
const record: VerdictRecord = { server: version, verdicts: {} };
try {
  for (const file of corpusFiles()) {
    const path = `${ROOT}${file}`;
    const dir = path.slice(0, path.lastIndexOf("/"));
    const copy = `${scratch}/${file.replaceAll("/", "_")}`;
    await Deno.writeTextFile(copy, absoluteTablePaths(await Deno.readTextFile(path), dir));
    // Relative certificate paths are read from the working directory: the file's own.
    const out = await new Deno.Command(SMTPD, {
      args: ["-n", "-f", copy],
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
    const output = text.replaceAll(copy, file).replaceAll(`${dir}/`, "").trim().split("\n")
      .slice(0, 6);
    record.verdicts[file] = { verdict: out.code === 0 ? "ok" : "error", output };
    console.log(`${file}: ${out.code === 0 ? "ok" : "error"}`);
  }
} finally {
  await Deno.remove(scratch, { recursive: true });
}
await Deno.writeTextFile(VERDICTS_PATH, JSON.stringify(record, null, 2) + "\n");
console.log(`${Object.keys(record.verdicts).length} verdicts of ${version} in ${VERDICTS_PATH}`);
