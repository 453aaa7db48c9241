/**
 * The sendmail-compatible front-ends: sendmail(8), mailq(8), makemap(8), newaliases(8)
 * and the cron-friendly `queue flush`, each working with or without a running daemon.
 *
 * @module
 */
export { runMakemap, runNewaliases } from "./makemap.ts";
export type { MakemapOptions } from "./makemap.ts";
export { runSendmail } from "./sendmail.ts";
export { formatQueueLine, runMailq } from "./mailq.ts";
export { runFlush } from "./flush_command.ts";
export {
  loadCommandConfig,
  noDaemonForBrokenConfig,
  parseMacroDefinitions,
} from "./config_file.ts";
export { parseCommandLine } from "./command_line.ts";
