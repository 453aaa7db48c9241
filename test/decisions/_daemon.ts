// A whole daemon started in the test's process from a configuration text, on 127.0.0.1 port 0
// in a scratch directory, and SMTP dialogues with it that return every reply as received.

import { loadConfig, startDaemon } from "../../mod.ts";
import { SILENT_LOGGER } from "../../src/log/mod.ts";
import { SmtpTestClient } from "../_helpers.ts";

/** A running daemon for decision tests. */
export interface DecisionDaemon extends AsyncDisposable {
  /** The scratch directory; `$DIR` in the configuration text names it. */
  readonly dir: string;
  readonly port: number;
  /** Connects, and for each command sent returns `command => reply`, the banner first. */
  dialogue(commands: readonly string[]): Promise<string[]>;
}

/**
 * Writes `conf` (with `$DIR` replaced by the scratch directory, and a queue in it) and
 * starts the daemon; the first listener must say `port 0`.
 */
export async function startDecisionDaemon(
  conf: string,
  setup?: (dir: string) => Promise<void>,
): Promise<DecisionDaemon> {
  const dir = await Deno.makeTempDir();
  await setup?.(dir);
  const text = `queue path "${dir}/queue"\n${conf.replaceAll("$DIR", dir)}`;
  await Deno.writeTextFile(`${dir}/smtpd.conf`, text);
  const daemon = await startDaemon({
    config: await loadConfig(`${dir}/smtpd.conf`),
    log: SILENT_LOGGER,
  });
  const port = daemon.listeners[0]!.port;
  return {
    dir,
    port,
    async dialogue(commands) {
      await using client = await SmtpTestClient.connect(port);
      const replies = [await client.reply()];
      for (const command of commands) {
        await client.send(command);
        replies.push(`${command} => ${await client.reply()}`);
      }
      return replies;
    },
    async [Symbol.asyncDispose]() {
      await daemon.stop();
      await Deno.remove(dir, { recursive: true });
    },
  };
}
