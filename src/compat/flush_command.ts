// `queue flush [-f CONFIG] [--all] [--json]` (and `sendmail -q`): one delivery pass in
// this process, for cron. A progress bar on a terminal, one summary line otherwise, JSON
// on request. Exit 0 when nothing is left deferred, 75 (EX_TEMPFAIL) when something is,
// 1 when the pass could not run.

import { Command } from "commander";
import { parseCommandLine } from "./command_line.ts";
import { agentOfAction, openRuntime } from "../daemon/mod.ts";
import { createLogger, SILENT_LOGGER } from "../log/mod.ts";
import { flushQueue, type FlushSummary } from "../queue/mod.ts";
import { loadCommandConfig } from "./config_file.ts";
import { errorMessage, EX } from "../mail/mod.ts";

/** Runs `queue flush …`; resolves with the exit code. */
export async function runFlush(args: readonly string[]): Promise<number> {
  const program = new Command("queue flush")
    .description("deliver what is due in the queue, once, then exit")
    .option("-f, --file <file>", "use this configuration file")
    .option("-C <file>", "use this configuration file (sendmail's spelling)")
    .option("--all", "try every queued envelope, due or not")
    .option("--json", "print the summary as JSON")
    .option("-v, --verbose", "log every delivery to standard error")
    .helpOption("-h, --help", "show this help");
  const ended = parseCommandLine(program, args);
  if (ended !== undefined) return ended;
  const flags = program.opts<
    { file?: string; C?: string; all?: boolean; json?: boolean; verbose?: boolean }
  >();
  const loaded = await loadCommandConfig("queue flush", flags.file ?? flags.C);
  if ("exit" in loaded) return EX.FAILURE;
  const log = flags.verbose ? createLogger({ verbose: true }) : SILENT_LOGGER;
  const started = performance.now();
  let summary: FlushSummary;
  try {
    const runtime = await openRuntime(loaded.config, { log, leaseOnCommit: true });
    try {
      const bar = !flags.json && Deno.stderr.isTerminal() ? progressBar() : undefined;
      summary = await flushQueue({
        queue: runtime.queue,
        deliver: runtime.deliver,
        log,
        hostname: runtime.serverName,
        warnIntervals: loaded.config.bounceWarnIntervals,
        routeReport: runtime.routeReport,
        agentOf: agentOfAction(loaded.config),
        retryBase: (agent) => loaded.config.queue.retry?.[agent],
        ...(flags.all ? { all: true } : {}),
        ...(bar ? { onProgress: bar.update } : {}),
      });
      bar?.done();
    } finally {
      await runtime.close();
    }
  } catch (error) {
    console.error(`queue flush: ${errorMessage(error)}`);
    return EX.FAILURE;
  }
  const seconds = (performance.now() - started) / 1000;
  if (flags.json) console.log(JSON.stringify({ ...summary, seconds: round(seconds) }));
  else console.log(describe(summary, seconds));
  return summary.deferred > 0 || summary.unrecorded > 0 ? EX.TEMPFAIL : EX.OK;
}

function describe(s: FlushSummary, seconds: number): string {
  const expanded = s.expanded > 0 ? `${s.expanded} expanded, ` : "";
  return `queue flush: ${s.total} tried: ${s.delivered} delivered, ${expanded}${s.deferred} deferred, ` +
    `${s.failed} failed, ${s.expired} expired in ${round(seconds)} s`;
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

// A bar redrawn in place on standard error: `[#########-----------]  45/100`.
function progressBar(): { update(done: number, total: number): void; done(): void } {
  const encoder = new TextEncoder();
  let drawn = false;
  return {
    update(done, total) {
      const width = 30;
      const filled = total === 0 ? width : Math.round((done / total) * width);
      const line = `\r[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${done}/${total}`;
      Deno.stderr.writeSync(encoder.encode(line));
      drawn = true;
    },
    done() {
      if (drawn) Deno.stderr.writeSync(encoder.encode("\n"));
    },
  };
}
