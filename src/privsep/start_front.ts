// Starting the SMTP front as its unprivileged user: setpriv(1) sets the uid, the gid and
// the user's groups, and passes CAP_NET_BIND_SERVICE as an ambient capability so the
// front binds port 25 itself; Deno runs it under the flags of front_permissions.ts. It is
// started by the name `smtpd: smtp` (a link to the executable), which `ps` shows.

import { type ChannelOffer, channelStdio } from "../mail/mod.ts";
import { prepareFrontCache } from "./front_cache.ts";

export { findSetpriv } from "../delivery/mod.ts";

/** The front's role name: its argv[0], and the command cli.ts runs for it. */
export const SMTP_FRONT_ROLE = "smtpd: smtp";

/** The mailbox writers' role name (a compiled executable runs the writer by it). */
export const MAILBOX_WRITER_ROLE = "smtpd: mailbox";

/** Links to the executable named for each role, in a directory of their own. */
export interface RoleLinks {
  readonly dir: string;
  /** What the parent starts mailbox writers by, when it may run it. */
  readonly mailboxWriter?: string;
  remove(): Promise<void>;
}

/**
 * Makes the role links. A parent under narrow permissions (`--allow-run=DENO`) may not run
 * a link, so its mailbox writers then keep the executable's own name.
 */
export async function makeRoleLinks(): Promise<RoleLinks> {
  const dir = await Deno.makeTempDir({ prefix: "smtpd-roles-" });
  await Deno.chmod(dir, 0o755);
  for (const role of [SMTP_FRONT_ROLE, MAILBOX_WRITER_ROLE]) {
    await Deno.symlink(Deno.execPath(), `${dir}/${role}`);
  }
  const writer = `${dir}/${MAILBOX_WRITER_ROLE}`;
  const granted = Deno.permissions.querySync({ name: "run", command: writer }).state === "granted";
  return {
    dir,
    ...(granted ? { mailboxWriter: writer } : {}),
    remove: () => Deno.remove(dir, { recursive: true }).catch(() => {}),
  };
}

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
  /** The directory of the role links (makeRoleLinks). */
  readonly roles: string;
  /** The queue directory, where the front's module cache is kept between starts. */
  readonly queueDir: string;
  /** The socket offered as the channel (its variables are in `env`); else stdin and stdout. */
  readonly channel?: ChannelOffer | undefined;
  /**
   * "inherit": the front writes its log lines to the parent's standard error itself (the
   * parent logs text lines there too); "piped" (the default): the parent relays them.
   */
  readonly stderr?: "inherit" | "piped";
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

/**
 * The front's V8 heap kept near what it holds. The young generation is capped at 2 MiB a
 * semi-space (V8 sizes it from the heap limit and grows it under load to 16 MiB), and the
 * old generation is collected once it is 20% over what the last collection kept (V8
 * otherwise lets it grow up to 4 times): the heap a burst grew (a queue listing, a load
 * of sessions) is not kept. After a 100,000-envelope listing and 6,000 messages the front
 * holds ~90 MB instead of ~200, for the same CPU time per message (bench/queue_scale.ts).
 */
const FRONT_V8_FLAGS = ["--v8-flags=--max-semi-space-size=2,--heap-growing-percent=20"];

/**
 * Starts the front; the channel to this parent is the socket offered (its standard input
 * and output without one), its standard error its log.
 */
export async function startFront(
  setpriv: string,
  options: StartFrontOptions,
): Promise<FrontProcess> {
  const { account } = options;
  const exec = Deno.execPath();
  const compiled = !/\/deno(\.exe)?$/.test(exec);
  // The role's name is a link to the executable in a directory of its own, found through
  // PATH, so that argv[0] (and the process name) is exactly the role.
  const roles = options.roles;
  const env: Record<string, string> = { ...options.env, PATH: roles, NO_COLOR: "1" };
  let runtime: string[] = [];
  if (!compiled) {
    env["DENO_DIR"] = await prepareFrontCache(options.queueDir, account);
    runtime = [
      "run",
      "--quiet",
      "--cached-only",
      ...FRONT_V8_FLAGS,
      ...options.permissionFlags,
      CLI_PATH,
    ];
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
    ...channelStdio(options.channel),
    stderr: options.stderr ?? "piped",
  }).spawn();
  return {
    child,
    compiled,
    // The module cache is kept for the next start (front_cache.ts): nothing to remove.
    cleanup: () => Promise.resolve(),
  };
}
