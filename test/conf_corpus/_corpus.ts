// The configurations whose `smtpd -n` verdicts are compared with OpenSMTPD's: every
// examples/*.conf and every test/conf_corpus/*.conf, and where the recorded verdicts live.

const ROOT = new URL("../../", import.meta.url).pathname;

/** Where record.ts writes OpenSMTPD's verdicts. */
export const VERDICTS_PATH = new URL("./opensmtpd_verdicts.json", import.meta.url).pathname;

/** One recorded `smtpd -n` run. */
export interface Verdict {
  /** Exit status 0 is "ok". */
  readonly verdict: "ok" | "error";
  /** The first lines it printed, for whoever reads a disagreement. */
  readonly output: readonly string[];
}

/** What record.ts writes. */
export interface VerdictRecord {
  /** The OpenSMTPD that gave the verdicts (`OpenSMTPD 6.8.0p2`). */
  readonly server: string;
  /** By path from the repository's root. */
  readonly verdicts: Record<string, Verdict>;
}

/** The corpus, as paths from the repository's root, sorted. */
export function corpusFiles(): string[] {
  const files: string[] = [];
  for (const dir of ["examples", "test/conf_corpus"]) {
    for (const entry of Deno.readDirSync(`${ROOT}${dir}`)) {
      if (entry.isFile && entry.name.endsWith(".conf")) files.push(`${dir}/${entry.name}`);
    }
  }
  return files.sort();
}
