/**
 * The configuration language: smtpd.conf(5) text in (either grammar), one typed,
 * read-only model out, every problem reported as FILE:LINE:COLUMN. Also the defaults
 * every other box reads and the printer that writes a model back as text.
 *
 * @module
 */
export { formatDiagnostic, loadConfig, loadConfigWithDiagnostics, parseConfig } from "./load.ts";
export { checkHasRules } from "./validate_rules.ts";
export { parseTlsProtocols } from "./tls_protocols.ts";
export type { TlsVersion, TlsVersionRange } from "./tls_protocols.ts";
export type { LoadConfigOptions, LoadedConfig, ParseConfigOptions } from "./load.ts";
export { ConfigError, formatPosition } from "./errors.ts";
export type { Diagnostic, Severity, SourcePosition } from "./errors.ts";
export * from "./model.ts";
export * from "./model_mta.ts";
export {
  CONFIG_PATH_VARIABLE,
  configPath,
  DEFAULT_ALIASES_PATH,
  DEFAULT_CONFIG_PATH,
  DEFAULT_DELIVERY_TIMEOUTS,
  DEFAULT_SMTP_LIMITS,
  DEFAULTS,
  WELL_KNOWN_PORTS,
} from "./defaults.ts";
export { formatDuration } from "./units.ts";
export { filtersLocalMail } from "./model_filters.ts";
export { printConfig } from "./print.ts";
export { parseRelayTarget } from "./relay_url.ts";
export { parseQueueKey } from "./queue_key.ts";
export { listenerPkiNames } from "./listener_pki.ts";
