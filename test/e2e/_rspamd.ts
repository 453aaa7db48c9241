// A real rspamd for the filter-rspamd tests: a scratch configuration (no modules, a tiny
// TLD list so it starts in about a second rather than compiling thousands of suffixes),
// one normal worker on 127.0.0.1, stopped by its pid.

import { freePort, waitFor } from "../_helpers.ts";

/** The rspamd binary Debian's rspamd package installs. */
export const RSPAMD = "/usr/bin/rspamd";

/** A running rspamd. */
export interface RspamdServer extends AsyncDisposable {
  /** Its HTTP base URL, as filter-rspamd's -url wants it. */
  readonly url: string;
  /** How long it took from spawn to answering /ping. */
  readonly startupMs: number;
  readonly pid: number;
}

// GTUBE's reject pattern is always on; `enable_test_patterns` (rspamd 2.3 to 3.7) also
// turns on the add-header one (YJS…), so both decisions can be asked for by content.
function configuration(dir: string, port: number): string {
  return `options {
  pidfile = "${dir}/rspamd.pid";
  dbdir = "${dir}/db";
  tempdir = "${dir}/tmp";
  url_tld = "${dir}/tld.dat";
  filters = "";
  enable_test_patterns = true;
}
logging { type = "file"; filename = "${dir}/rspamd.log"; level = "info"; }
actions { reject = 15; add_header = 6; }
worker "normal" {
  bind_socket = "127.0.0.1:${port}";
  count = 1;
}
`;
}

/** Starts rspamd in a scratch directory; it runs as _rspamd when the tests are root. */
export async function startRspamd(): Promise<RspamdServer> {
  const dir = await Deno.makeTempDir({ prefix: "smtpd-rspamd-" });
  await Deno.mkdir(`${dir}/db`);
  await Deno.mkdir(`${dir}/tmp`);
  await Deno.writeTextFile(`${dir}/tld.dat`, "test\norg\ncom\n");
  const port = freePort();
  await Deno.writeTextFile(`${dir}/rspamd.conf`, configuration(dir, port));
  const asRoot = Deno.uid() === 0;
  if (asRoot) {
    for (const path of [dir, `${dir}/db`, `${dir}/tmp`]) await Deno.chmod(path, 0o777);
  }
  const started = performance.now();
  const child = new Deno.Command(RSPAMD, {
    args: ["-f", "-c", `${dir}/rspamd.conf`, ...(asRoot ? ["-u", "_rspamd", "-g", "_rspamd"] : [])],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch {
      // Already gone.
    }
    await child.status;
    await child.stderr.cancel().catch(() => {});
    await Deno.remove(dir, { recursive: true });
  };
  try {
    await waitFor("rspamd to answer /ping", async () => {
      try {
        const response = await fetch(`${url}/ping`);
        return (await response.text()).trim() === "pong" ? true : undefined;
      } catch {
        return undefined;
      }
    }, 90_000);
  } catch (error) {
    const log = await Deno.readTextFile(`${dir}/rspamd.log`).catch(() => "(no log)");
    await stop();
    throw new Error(`${(error as Error).message}\n${log}`);
  }
  const startupMs = Math.round(performance.now() - started);
  return { url, startupMs, pid: child.pid, [Symbol.asyncDispose]: stop };
}
