// Public face of the configuration box: text in, the typed model out.
export { formatDiagnostic, loadConfig, loadConfigWithDiagnostics, parseConfig } from "./load.ts";
export type { LoadConfigOptions, LoadedConfig, ParseConfigOptions } from "./load.ts";
export { ConfigError, formatDiagnosticLine } from "./errors.ts";
export type { Diagnostic, Severity, SourcePosition } from "./errors.ts";
export * from "./model.ts";
export {
  CONFIG_PATH_VARIABLE,
  configPath,
  DEFAULT_CONFIG_PATH,
  DEFAULT_SMTP_LIMITS,
  DEFAULTS,
} from "./defaults.ts";
export { formatDuration, parseDuration, parseSize } from "./units.ts";
export { printConfig } from "./print.ts";
