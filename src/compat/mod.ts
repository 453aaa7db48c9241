// Public face of the compatibility front-ends: makemap, newaliases, sendmail, mailq and
// the cron-friendly queue flush.
export { parseMakemapInput, runMakemap, runNewaliases } from "./makemap.ts";
export type { MakemapOptions, MakemapType } from "./makemap.ts";
export { runSendmail } from "./sendmail.ts";
export { runMailq } from "./mailq.ts";
export { runFlush } from "./flush_command.ts";
export { loadCommandConfig } from "./config_file.ts";
export { parseCommandLine } from "./command_line.ts";
