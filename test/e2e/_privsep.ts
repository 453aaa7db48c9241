// Accounts for the privilege separation tests: the front's _smtpd (made when missing and
// left in place, as an install would), and mail users with a password, made and removed
// by each test under a name of its own; and the daemon as such a test starts it.

import { findSetpriv, SMTP_FRONT_ROLE } from "../../src/privsep/mod.ts";
import { waitListening } from "../_helpers.ts";

const CLI = new URL("../../cli.ts", import.meta.url).pathname;

/** A daemon started by {@link startLoggedDaemon}. */
export interface LoggedDaemon {
  readonly pid: number;
  /** Its standard error so far. */
  log(): string;
  /** SIGTERM, then its exit code once it and its log are done. */
  stop(): Promise<number>;
  /** SIGKILL, for a test that failed before stop(); nothing when stopped already. */
  kill(): Promise<void>;
  /** Its exit code once it exited by itself (its front killed, say) and its log is done. */
  exited(): Promise<number>;
}

/**
 * `deno run -A cli.ts -d ARGS` in the foreground, its standard error collected, once it
 * accepts connections on `port`.
 */
export async function startLoggedDaemon(
  args: readonly string[],
  port: number,
  env: Record<string, string> = {},
): Promise<LoggedDaemon> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, "-d", ...args],
    env,
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let log = "";
  const reading = child.stderr.pipeThrough(new TextDecoderStream()).pipeTo(
    new WritableStream({ write: (chunk) => void (log += chunk) }),
  );
  let stopped = false;
  const daemon: LoggedDaemon = {
    pid: child.pid,
    log: () => log,
    async stop() {
      stopped = true;
      child.kill("SIGTERM");
      const { code } = await child.status;
      await reading;
      return code;
    },
    async kill() {
      if (stopped) return;
      stopped = true;
      child.kill("SIGKILL");
      await child.status;
    },
    async exited() {
      const { code } = await child.status;
      stopped = true;
      await reading;
      return code;
    },
  };
  try {
    await waitListening(port, 60_000);
  } catch (error) {
    await daemon.kill();
    throw error;
  }
  return daemon;
}

/** Why the privilege separation tests cannot run here, or undefined when they can. */
export function skipReason(): string | undefined {
  if (Deno.uid() !== 0) return "not running as root";
  if (!findSetpriv()) return "setpriv (util-linux) is not installed";
  return undefined;
}

async function run(command: string, args: string[], input?: string): Promise<boolean> {
  try {
    const child = new Deno.Command(command, {
      args,
      stdin: input === undefined ? "null" : "piped",
      stdout: "null",
      stderr: "null",
    }).spawn();
    if (input !== undefined) {
      const writer = child.stdin.getWriter();
      await writer.write(new TextEncoder().encode(input));
      await writer.close();
    }
    return (await child.status).success;
  } catch {
    return false;
  }
}

/** uid and gid of an account, from /etc/passwd. */
export async function accountIds(name: string): Promise<{ uid: number; gid: number }> {
  for (const line of (await Deno.readTextFile("/etc/passwd")).split("\n")) {
    const [user, , uid, gid] = line.split(":");
    if (user === name) return { uid: Number(uid), gid: Number(gid) };
  }
  throw new Error(`no account "${name}"`);
}

/** Makes the front's user as the README says; the reason when it cannot, else undefined. */
export async function ensureFrontUser(): Promise<string | undefined> {
  if (await accountIds("_smtpd").then(() => true, () => false)) return undefined;
  await run("useradd", ["-r", "-s", "/usr/sbin/nologin", "-d", "/var/empty", "_smtpd"]);
  // Another test may have made it at the same moment: what counts is that it exists.
  return await accountIds("_smtpd").then(() => undefined, () => "useradd could not make _smtpd");
}

/** Makes a mail user with its home under dir and a SHA-512 password; returns its name. */
export async function makeUser(dir: string, password: string): Promise<string> {
  const name = `psep${crypto.getRandomValues(new Uint32Array(1))[0]!.toString(36)}`;
  if (!await run("useradd", ["-m", "-d", `${dir}/${name}`, "-s", "/bin/sh", name])) {
    throw new Error(`useradd ${name} failed`);
  }
  // SHA-512 crypt: the hash scheme the daemon checks (Debian's default yescrypt is not).
  if (!await run("chpasswd", ["-c", "SHA512"], `${name}:${password}\n`)) {
    await removeUser(name);
    throw new Error(`chpasswd for ${name} failed`);
  }
  return name;
}

/** Removes a user a test made. */
export async function removeUser(name: string): Promise<void> {
  await run("userdel", ["-r", name]);
}

/**
 * A copy of this process's module cache that `owner` can read (root's is not readable
 * by other users): the downloaded modules, which is what `--cached-only` needs.
 */
export async function copyModuleCache(dest: string, owner = "nobody:nogroup"): Promise<void> {
  const info = await new Deno.Command(Deno.execPath(), { args: ["info", "--json"] }).output();
  const denoDir = JSON.parse(new TextDecoder().decode(info.stdout)).denoDir as string;
  await Deno.mkdir(dest, { recursive: true });
  // Only the downloaded modules: the SQLite caches beside them (check_cache_v2-wal, …) are
  // written by every other deno of the suite, and a -wal or -shm file that vanishes
  // between cp's readdir and its open makes the copy fail.
  for (const part of ["npm", "remote"]) {
    const from = `${denoDir}/${part}`;
    if (!(await Deno.stat(from).then(() => true, () => false))) continue;
    const copy = await new Deno.Command("cp", { args: ["-r", from, dest], stderr: "piped" })
      .output();
    if (!copy.success) {
      throw new Error(`cp -r ${from}: ${new TextDecoder().decode(copy.stderr).trim()}`);
    }
  }
  const chown = await new Deno.Command("chown", { args: ["-R", owner, dest] }).output();
  if (!chown.success) throw new Error(`chown -R ${owner} ${dest} failed`);
}

/** What a process's file descriptor is open on, as /proc names it (`socket:[…]`, a path). */
export async function openOn(pid: number, fd: number): Promise<string> {
  const out = await new Deno.Command("readlink", {
    args: [`/proc/${pid}/fd/${fd}`],
    stdout: "piped",
    stderr: "null",
  }).output();
  return new TextDecoder().decode(out.stdout).trim();
}

/** The parent's children as ps shows them: pid, user and process name. */
export async function childrenOf(
  parent: number,
): Promise<{ pid: number; user: string; name: string }[]> {
  const out = await new Deno.Command("ps", {
    args: ["-o", "pid=,user:32=,comm=", "--ppid", String(parent)],
    stdout: "piped",
    stderr: "null",
  }).output();
  return new TextDecoder().decode(out.stdout).split("\n").flatMap((line) => {
    const match = /^\s*(\d+)\s+(\S+)\s+(.*)$/.exec(line);
    return match ? [{ pid: Number(match[1]), user: match[2]!, name: match[3]!.trim() }] : [];
  });
}

/** The pid of the front: the parent's child named by its role. */
export async function frontOf(parent: number): Promise<number | undefined> {
  return (await childrenOf(parent)).find((c) => c.name === SMTP_FRONT_ROLE)?.pid;
}

/**
 * A file of /proc/PID as root reads it (`environ`, `status`, `cmdline`), through cat(1):
 * the runtime grants some /proc files only under -A, which the suite does not run with.
 */
export async function procFile(pid: number, file: string): Promise<string> {
  const out = await new Deno.Command("cat", {
    args: [`/proc/${pid}/${file}`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`cat /proc/${pid}/${file}: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
  return new TextDecoder().decode(out.stdout);
}

/** Every process of the user `uid` as ps shows it: pid and command line. */
export async function processesOf(uid: number): Promise<{ pid: number; args: string }[]> {
  const out = await new Deno.Command("ps", {
    args: ["-o", "pid=,args=", "-U", String(uid)],
    stdout: "piped",
    stderr: "null",
  }).output();
  return new TextDecoder().decode(out.stdout).split("\n").flatMap((line) => {
    const match = /^\s*(\d+)\s+(.*)$/.exec(line);
    return match ? [{ pid: Number(match[1]), args: match[2]! }] : [];
  });
}
