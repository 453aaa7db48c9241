// The daemon's side of local submission: the offline directory made right, the socket
// in it served, and the offline files picked up — each message queued through the one
// local path (queueLocalSubmission) as from `local`, named after the submitter's account;
// smtpctl's commands are answered on the same socket (control_commands.ts).

import { withTableLookups } from "../tables/mod.ts";
import {
  controlSocketName,
  controlSocketPath,
  type LocalSubmission,
  loginNameOf,
  nameControlSocket,
  offlineAsideDirectory,
  offlineDirectory,
  prepareOfflineDirectory,
  privilegedPeers,
  queueLocalSubmission,
  startControlServer,
  startOfflinePickup,
} from "../control/mod.ts";
import type { Logger } from "../log/mod.ts";
import { submitInSession } from "../smtp/mod.ts";
import { errorMessage, EX } from "../mail/mod.ts";
import { DEFAULTS } from "../config/mod.ts";
import { localSubmissionNoDsn, localSubmissionSession } from "./queue_setup.ts";
import type { EnvelopeFacts } from "../rules/mod.ts";
import { withRcptExpansion } from "./rcpt_decision.ts";
import type { Runtime } from "./runtime.ts";
import { type ControlTarget, runControlCommand } from "./control_commands.ts";

/** The running local interface. */
export interface LocalInterface {
  /** Stops the socket and the pickup; what they are queueing finishes first. */
  close(): Promise<void>;
}

/**
 * Gives the socket its other name (/var/run/smtpd.sock for the system's daemon, or
 * `control socket PATH`); one that cannot be made is logged, and the socket serves on.
 */
export async function nameSocket(
  runtime: Pick<Runtime, "config" | "queueDir">,
  socketPath: string,
  log: Logger,
): Promise<(() => Promise<void>) | undefined> {
  const name = controlSocketName({
    ...(runtime.config.control?.socket ? { configured: runtime.config.control.socket } : {}),
    queueDir: runtime.queueDir,
    defaultQueueDir: DEFAULTS.queuePath,
    root: Deno.uid() === 0,
  });
  if (name === undefined) return undefined;
  try {
    const unname = await nameControlSocket(name, socketPath);
    log.info(`control: ${name} names ${socketPath}`);
    return unname;
  } catch (error) {
    log.warn(`control: cannot name the socket ${name}: ${errorMessage(error)}`);
    return undefined;
  }
}

/**
 * Serves local submission for a daemon's runtime. A directory that cannot be made right
 * (another user's, say) is logged and leaves the daemon running without it: sendmail then
 * says why it cannot reach the daemon.
 */
export async function startLocalInterface(
  runtime: Runtime,
  log: Logger,
  control?: ControlTarget,
  sessionOptions?: () => Parameters<typeof submitInSession>[0] | undefined,
  options: { readonly nameSocket?: boolean } = {},
): Promise<LocalInterface> {
  const offlineDir = offlineDirectory(runtime.queueDir);
  try {
    for (const fix of await prepareOfflineDirectory(offlineDir)) log.warn(`offline: ${fix}`);
  } catch (error) {
    log.warn(`offline: ${errorMessage(error)}; local submission is off`);
    return { close: () => Promise.resolve() };
  }
  const maxBytes = runtime.config.smtp.maxMessageSize;
  const submit = async (
    via: string,
    request: { submission: LocalSubmission; input: Uint8Array; uid: number; now?: Date },
  ) => {
    const user = loginNameOf(request.uid);
    if (user === undefined) {
      const error = `uid ${request.uid} has no account in /etc/passwd`;
      log.warn(`local: via=${via} uid=${request.uid} refused: ${error}`);
      return { exit: EX.NOPERM, error };
    }
    // Filters that apply to local mail see it through a session of its own.
    const options = sessionOptions?.();
    const outcome = await queueLocalSubmission({
      hostname: runtime.serverName,
      maxMessageSize: maxBytes,
      decide: withRcptExpansion(
        runtime,
        (envelope: EnvelopeFacts) =>
          withTableLookups(() => runtime.ruleset(localSubmissionSession(runtime.config), envelope)),
      ),
      commit: (message) => runtime.queue.commit(message),
      ...(localSubmissionNoDsn(runtime.config) ? { noDsn: true } : {}),
      ...(options ? { throughSession: (message) => submitInSession(options, message) } : {}),
    }, { ...request, user });
    if (outcome.exit === EX.OK && "msgid" in outcome) {
      log.info(
        `local: via=${via} uid=${request.uid} user=${user} message ${outcome.msgid} ` +
          `from=<${outcome.sender}> rcpts=${outcome.rcpts} result=Ok`,
      );
    } else if ("error" in outcome) {
      log.info(`local: via=${via} uid=${request.uid} user=${user} result=${outcome.error}`);
    }
    return outcome;
  };
  const socketPath = controlSocketPath(offlineDir);
  // Without the socket (narrow permissions: Deno wants --allow-net=unix:PATH), sendmail
  // finds no daemon there and drops its messages offline, which this daemon picks up.
  const server = await startControlServer({
    path: socketPath,
    offlineDir,
    handlers: {
      submit: (request) => submit("socket", request),
      ...(control ? { control: (request) => runControlCommand(control, request) } : {}),
    },
    maxBody: maxBytes,
    log,
    // Read at each request: a reload may change the group.
    mayControl: (uid) =>
      privilegedPeers({
        daemonUid: Deno.uid() ?? -1,
        ...(runtime.config.control?.group ? { group: runtime.config.control.group } : {}),
      })(uid),
  }).catch((error) => {
    log.warn(
      `control: cannot listen on ${socketPath}: ${errorMessage(error)}; offline drops only` +
        missingSocketFlag(error, socketPath),
    );
    return undefined;
  });
  const pickup = startOfflinePickup({
    dir: offlineDir,
    asideDir: offlineAsideDirectory(runtime.queueDir),
    submit: (request) => submit("offline", request),
    maxBytes,
    log,
  });
  log.info(`smtpd: local submission ${server ? `on ${socketPath} and ` : ""}in ${offlineDir}`);
  const unname = server && options.nameSocket !== false
    ? await nameSocket(runtime, socketPath, log)
    : undefined;
  return {
    async close() {
      await unname?.();
      await Promise.all([server?.close(), pickup.close()]);
    },
  };
}

/** The flag to add when Deno's permissions, not the file system, refused the socket. */
function missingSocketFlag(error: unknown, socketPath: string): string {
  if (!(error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied)) {
    return "";
  }
  if (!/Requires net access/.test(errorMessage(error))) return "";
  return ` (add --allow-net=unix:${socketPath} for smtpctl and sendmail to reach this daemon)`;
}
