// Starting the SMTP front as its unprivileged user: setpriv(1) sets the uid, the gid and
// the user's groups, and passes CAP_NET_BIND_SERVICE as an ambient capability so the
// front binds port 25 itself; Deno runs it under the flags of front_permissions.ts. It is
// started by the name `smtpd: smtp` (a link to the executable), which `ps` shows.

import { prepareFrontCache } from "./front_cache.ts";

/** The front's role name: its argv[0], and the command cli.ts runs for it. */
export const SMTP_FRONT_ROLE = "smtpd: smtp";

/** The account the front runs as. */
export interface FrontAccount {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

/** Options of {@link startFront}. */
export interface StartFrontOptions {
  readonly account: FrontAccount;
  /** The `deno run` permission flags (frontPermissionFlags). */
  readonly permissionFlags: readonly string[];
  /** The front's smtpd arguments (-f FILE, -D …, -v). */
  readonly args: readonly string[];
  /** Variables passed on to the front (the rest of the environment is not). */
  readonly env: Readonly<Record<string, string>>;
}

/** A running front. */
export interface FrontProcess {
  readonly child: Deno.ChildProcess;
  /** True when the front runs a compiled executable, whose permissions are compile-time. */
  readonly compiled: boolean;
  /** Removes what was made for the front (after it exited). */
  cleanup(): Promise<void>;
}

const CLI_PATH = new URL("../../cli.ts", import.meta.url).pathname;

/** The setpriv(1) program, or undefined when util-linux's setpriv is not installed. */
export function findSetpriv(): string | undefined {
  return ["/usr/bin/setpriv", "/bin/setpriv", "/usr/sbin/setpriv"].find((path) => {
    try {
      return Deno.statSync(path).isFile;
    } catch {
      return false;
    }
  });
}

/** Starts the front; its standard input and output are the channel to this parent. */
export async function startFront(
  setpriv: string,
  options: StartFrontOptions,
): Promise<FrontProcess> {
  const { account } = options;
  const exec = Deno.execPath();
  const compiled = !/\/deno(\.exe)?$/.test(exec);
  // The role's name is a link to the executable in a directory of its own, found through
  // PATH, so that argv[0] (and the process name) is exactly the role.
  const roles = await Deno.makeTempDir({ prefix: "smtpd-roles-" });
  await Deno.chmod(roles, 0o755);
  await Deno.symlink(exec, `${roles}/${SMTP_FRONT_ROLE}`);
  const made = [roles];
  try {
    const env: Record<string, string> = { ...options.env, PATH: roles, NO_COLOR: "1" };
    let runtime: string[] = [];
    if (!compiled) {
      const cache = await prepareFrontCache(account);
      made.push(cache);
      env["DENO_DIR"] = cache;
      runtime = ["run", "--quiet", "--cached-only", ...options.permissionFlags, CLI_PATH];
    }
    const child = new Deno.Command(setpriv, {
      args: [
        `--reuid=${account.uid}`,
        `--regid=${account.gid}`,
        "--init-groups",
        "--inh-caps=+net_bind_service",
        "--ambient-caps=+net_bind_service",
        "--",
        SMTP_FRONT_ROLE,
        ...runtime,
        SMTP_FRONT_ROLE,
        ...options.args,
      ],
      clearEnv: true,
      env,
      cwd: "/",
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    return {
      child,
      compiled,
      cleanup: async () => {
        for (const dir of made) await Deno.remove(dir, { recursive: true }).catch(() => {});
      },
    };
  } catch (error) {
    for (const dir of made) await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw error;
  }
}
