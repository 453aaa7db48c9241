// A daemon for the filter tests: one listener with the given filter lines, mail for
// example.test into Maildirs, a scratch directory others can read (filters run as
// _smtpd when the tests run as root), and the log kept for the test to read.

import { loadConfig, startDaemon } from "../../mod.ts";
import { createLogger } from "../../src/log/mod.ts";
import { freePort, OWN_IDS, readMaildir, waitFor } from "../_helpers.ts";
import { startDnsServer } from "../_dns_server.ts";

/** A running filter fixture. */
export interface FilterFixture extends AsyncDisposable {
  readonly dir: string;
  readonly port: number;
  readonly log: string[];
  readonly daemon: Awaited<ReturnType<typeof startDaemon>>;
  /** The messages delivered to a user, waiting for `count` of them. */
  delivered(user: string, count?: number): Promise<string[]>;
}

// The system's interpreter: the filter may run as a user who cannot see a python3 in
// root's PATH (pyenv under /root).
const PYTHON = (() => {
  try {
    Deno.statSync("/usr/bin/python3");
    return "/usr/bin/python3";
  } catch {
    return "python3";
  }
})();

/** The echo filter script, copied where the filter's user can read it. */
export function echoFilterCommand(dir: string, eventsFile?: string): Promise<string> {
  return fixtureFilterCommand(dir, "echo_filter.py", eventsFile);
}

/** A filter script of test/fixtures, copied where the filter's user can read it. */
export async function fixtureFilterCommand(
  dir: string,
  name: string,
  eventsFile?: string,
): Promise<string> {
  const script = `${dir}/${name}`;
  await Deno.copyFile(new URL(`../fixtures/${name}`, import.meta.url), script);
  await Deno.chmod(script, 0o755);
  if (eventsFile) {
    await Deno.writeTextFile(eventsFile, "");
    await Deno.chmod(eventsFile, 0o666);
  }
  return eventsFile ? `${PYTHON} ${script} ${eventsFile}` : `${PYTHON} ${script}`;
}

/** Makes a world-readable scratch directory (filters may run as another user). */
export async function scratchDir(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "smtpd-filters-" });
  await Deno.chmod(dir, 0o755);
  return dir;
}

/**
 * Starts the daemon: `head` goes before the listener (filter declarations), `listen`
 * after `listen on … port N` (e.g. `filter "f"`), `rules` before the catch-all match.
 */
export async function startFilterFixture(
  options: { dir?: string; head: string; listen?: string; rules?: string },
): Promise<FilterFixture> {
  const dir = options.dir ?? await scratchDir();
  const port = freePort();
  const path = `${dir}/smtpd.conf`;
  await Deno.writeTextFile(
    path,
    `queue path "${dir}/queue"
${options.head}
listen on 127.0.0.1 port ${port} hostname mx.example.test ${options.listen ?? ""}
action "local" maildir "${dir}/mail/%{rcpt.user:lowercase}/Maildir" virtual { "@example.test" = "vmail" } userbase { vmail = "${OWN_IDS}:/nonexistent" }
${options.rules ?? ""}
match from any for domain "example.test" action "local"
`,
  );
  const log: string[] = [];
  // The client's reverse DNS is asked of a server of the test's own, which knows no names.
  const dns = await startDnsServer({});
  const daemon = await startDaemon({
    config: await loadConfig(path),
    log: createLogger({ sink: (line) => log.push(line) }),
    dns: { nameServer: { ipAddr: "127.0.0.1", port: dns.port } },
  });
  return {
    dir,
    port,
    log,
    daemon,
    async delivered(user, count = 1) {
      const files = await waitFor(`${count} message(s) for ${user}`, async () => {
        const found = await readMaildir(`${dir}/mail/${user}/Maildir`).catch(() => []);
        return found.length >= count ? found : undefined;
      });
      return files.map((f) => f.text);
    },
    async [Symbol.asyncDispose]() {
      await daemon.stop();
      await dns.stop();
      await Deno.remove(dir, { recursive: true });
    },
  };
}
