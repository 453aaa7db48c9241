// The `smtpd` command: OpenSMTPD's flags (-d -f -n -v -D -h), parsed with commander,
// then either a configuration check or a running daemon until SIGINT/SIGTERM.

import { Command, Option } from "commander";
import { parseCommandLine, parseMacroDefinitions } from "../compat/mod.ts";
import {
  checkHasRules,
  type Config,
  CONFIG_PATH_VARIABLE,
  ConfigError,
  configPath,
  DEFAULT_CONFIG_PATH,
  type Diagnostic,
  formatDiagnostic,
  loadConfigWithDiagnostics,
  printConfig,
} from "../config/mod.ts";
import {
  checkListenAddresses,
  checkPkiFiles,
  configDir,
  DETACHED_CHILD_FLAG,
  runService,
} from "../daemon/mod.ts";
import { errorMessage, EX } from "../mail/mod.ts";
import { isTraceName, setTracing, TRACE_SUBSYSTEMS } from "../log/mod.ts";
import { DEFAULT_FRONT_USER, startPrivsepParent, startSmtpFront } from "../privsep/mod.ts";
import { BACKENDS } from "../tables/mod.ts";

interface SmtpdFlags {
  debug?: boolean;
  file?: string;
  noaction?: boolean;
  verbose?: number;
  define: string[];
  trace: string[];
  detachedChild?: boolean;
  /** The SMTP front's user when started as root ("root": one process, no separation). */
  user: string;
}

/** Which process of the daemon this is: the whole daemon, or the privileged parent's front. */
export type SmtpdRole = "daemon" | "front";

/** Runs `smtpd` with the given arguments; resolves with the exit code. */
export async function runSmtpd(
  args: readonly string[],
  role: SmtpdRole = "daemon",
): Promise<number> {
  const program = new Command("smtpd")
    .description("SMTP daemon: receives mail and delivers or relays it per smtpd.conf")
    .option("-d", "stay in the foreground and log to stderr", false)
    .option(
      "-f <file>",
      `use this configuration file (default: $${CONFIG_PATH_VARIABLE} or ${DEFAULT_CONFIG_PATH})`,
    )
    .option("-n", "check the configuration, print `configuration OK`, and exit", false)
    .option("-v", "verbose logging (with -n: print the configuration back)", increase, 0)
    .option("-D <name=value>", "define a macro, overriding the file's", collect, [])
    .option(
      "-T <trace>",
      "trace a subsystem from the start (as smtpctl trace), or `stall`: the longest event-loop stall",
      collect,
      [],
    )
    .option(
      "-u <user>",
      `as root, run the SMTP front as this user (default ${DEFAULT_FRONT_USER}; root: one process)`,
      DEFAULT_FRONT_USER,
    )
    .addOption(
      new Option(DETACHED_CHILD_FLAG, "the background copy of a detaching start").hideHelp(),
    )
    .helpOption("-h, --help", "show this help");
  const ended = parseCommandLine(program, args);
  if (ended !== undefined) return ended;
  const raw = program.opts<Record<string, unknown>>();
  const flags: SmtpdFlags = {
    debug: raw["d"] as boolean,
    noaction: raw["n"] as boolean,
    verbose: raw["v"] as number,
    define: raw["D"] as string[],
    trace: raw["T"] as string[],
    detachedChild: raw["detachedChild"] === true,
    user: raw["u"] as string,
    ...(raw["f"] ? { file: raw["f"] as string } : {}),
  };
  return await runWithFlags(flags, role);
}

function increase(_value: string, previous: number): number {
  return previous + 1;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

async function runWithFlags(flags: SmtpdFlags, role: SmtpdRole): Promise<number> {
  const path = configPath(flags.file);
  // smtpd(8) -T: what smtpctl trace turns on, from the start.
  const unknownTrace = flags.trace.find((t) => t !== "stall" && !isTraceName(t));
  if (unknownTrace !== undefined) {
    console.error(
      `smtpd: -T ${unknownTrace}: unknown trace subsystem (stall, ${
        TRACE_SUBSYSTEMS.join(", ")
      }, all)`,
    );
    return EX.USAGE;
  }
  const traces = flags.trace.filter((t) => t !== "stall");
  for (const t of traces) setTracing(t, true);
  const macros = parseMacroDefinitions(flags.define);
  if ("invalid" in macros) {
    console.error(`smtpd: -D ${macros.invalid}: expected name=value`);
    return EX.USAGE;
  }
  const { defines } = macros;

  let loaded;
  try {
    loaded = await loadConfigWithDiagnostics(path, { defines });
  } catch (error) {
    if (error instanceof ConfigError) {
      printDiagnostics(error.diagnostics, error.sources);
    } else {
      console.error(`smtpd: ${errorMessage(error)}`);
    }
    return EX.FAILURE;
  }
  // At a start the daemon logs a listener's warnings itself as it binds (and at each
  // reload): printed here too, they would be said twice.
  const listenDiagnostics = (await checkListenAddresses(loaded.config))
    .filter((d) => flags.noaction || d.severity !== "warning");
  const addressDiagnostics = [
    ...unsupportedBackends(loaded.config),
    ...checkHasRules(loaded.config),
    ...listenDiagnostics,
    ...await checkPkiFiles(loaded.config, configDir(loaded.config)),
  ];
  printDiagnostics([...loaded.diagnostics, ...addressDiagnostics], loaded.sources);
  if (addressDiagnostics.some((d) => d.severity === "error")) return EX.FAILURE;
  if (flags.noaction) {
    // -n -v prints the normalized model: a legacy file comes out in the modern grammar.
    if ((flags.verbose ?? 0) > 0) console.log(printConfig(loaded.config));
    console.log("configuration OK");
    return EX.OK;
  }

  const config = loaded.config;
  const sources = [...loaded.sources.keys()];
  // Started as root: a privileged parent and an unprivileged SMTP front (src/privsep).
  const separated = role === "daemon" && runsAsRoot() && flags.user !== "root";
  return await runService(config, {
    foreground: flags.debug === true,
    detachedChild: flags.detachedChild === true,
    verbose: (flags.verbose ?? 0) > 0,
    traceStalls: flags.trace.includes("stall"),
    ...(role === "front"
      ? { start: (log) => startSmtpFront({ config, log }), logFormat: "text" as const }
      : {}),
    ...(separated
      ? {
        start: (log) =>
          startPrivsepParent({
            config,
            sources,
            args: [
              ...flags.define.flatMap((d) => ["-D", d]),
              ...Array.from({ length: flags.verbose ?? 0 }, () => "-v"),
              ...traces.flatMap((t) => ["-T", t]),
            ],
            user: flags.user,
            log,
          }),
      }
      : {}),
    ...(role === "daemon" && runsAsRoot() && !separated
      ? { startNote: "smtpd: -u root: one process, as root, without privilege separation" }
      : {}),
  });
}

function runsAsRoot(): boolean {
  try {
    return Deno.uid() === 0;
  } catch {
    return false;
  }
}

function printDiagnostics(
  diagnostics: readonly Diagnostic[],
  sources: ReadonlyMap<string, string> | undefined,
): void {
  for (const d of diagnostics) {
    console.error(formatDiagnostic(d, sources?.get(d.position.file) ?? ""));
  }
}

// A table whose backend this build lacks (OpenSMTPD's socketmap:, or a typo) parses, and
// would stop the start: -n says so as an error, as OpenSMTPD's table_create() fails there.
function unsupportedBackends(config: Config): Diagnostic[] {
  return config.tables.flatMap((t): Diagnostic[] =>
    t.source.kind === "backend" && !Object.hasOwn(BACKENDS, t.source.backend)
      ? [{
        severity: "error",
        message: `Table "${t.name}": backend "${t.source.backend}" is not supported by this ` +
          `build (backends: ${Object.keys(BACKENDS).join(", ")})`,
        position: t.position,
      }]
      : []
  );
}
