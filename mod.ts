/**
 * The library face of the server: read or parse an smtpd.conf(5) configuration, start a
 * daemon from it (listeners, queue, scheduler and delivery), and stop it. Everything the
 * command-line programs do is built on these functions.
 *
 * @example Start a daemon from a configuration string, then stop it
 * ```ts
 * import { createLogger, parseConfig, startDaemon } from "./mod.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const { config, diagnostics } = parseConfig(
 *   `queue path "${dir}/queue"
 * listen on 127.0.0.1 port 0
 * action "local" maildir "${dir}/Maildir"
 * match from local for local action "local"
 * `,
 *   { file: `${dir}/smtpd.conf` },
 * );
 * if (!config) throw new Error(diagnostics.map((d) => d.message).join("\n"));
 * const daemon = await startDaemon({ config, log: createLogger() });
 * console.log(`listening on port ${daemon.listeners[0]!.port}`);
 * await daemon.stop();
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */
export { ConfigError, formatDiagnostic, loadConfig, parseConfig } from "./src/config/mod.ts";
export type {
  Action,
  BuiltinConditionDecl,
  CaDecl,
  Config,
  Criterion,
  CriterionKind,
  Decision,
  DeliveryMethod,
  Diagnostic,
  FilterDecl,
  FilterSpec,
  IgnoredStatement,
  Listener,
  ListenerTls,
  LoadConfigOptions,
  Match,
  MetricsEndpoint,
  ParseConfigOptions,
  PkiDecl,
  ProcDecl,
  QueueOptions,
  RelayOptions,
  RelaySecurity,
  RelayTarget,
  Severity,
  SmtpOptions,
  SourcePosition,
  TableDecl,
  TableRef,
  TableSource,
} from "./src/config/mod.ts";
export { startDaemon } from "./src/daemon/mod.ts";
export type {
  Daemon,
  DaemonOptions,
  PrivilegedParent,
  RdnsOptions,
  ReloadResult,
  RuntimeSettings,
  StopOptions,
} from "./src/daemon/mod.ts";
export type {
  CommitListener,
  CommitOptions,
  EnvelopeSelector,
  EnvelopeState,
  ListedEnvelope,
  MessageInfo,
  NewEnvelope,
  NewMessage,
  Queue,
  QueuedEnvelope,
  QueueStats,
} from "./src/queue/mod.ts";
export type {
  DeliveryAgents,
  DeliveryUser,
  FormatVars,
  MailboxRequest,
  MailboxWriter,
  MdaActionRequest,
  PipeRequest,
} from "./src/delivery/mod.ts";
export type { Authenticator, PasswordCheck } from "./src/auth/mod.ts";
export type { DeliveryFailure, DeliveryResult } from "./src/mail/mod.ts";
export { createLogger } from "./src/log/mod.ts";
export type { Logger, LoggerOptions, SwitchableLogger } from "./src/log/mod.ts";
export type { FilterProcess, FilterSpawnRequest } from "./src/filters/mod.ts";
