// Running smtpctl as a child process against a test's configuration, as an operator would:
// its exit code, standard output and standard error, and its JSON output parsed back.

import { assertEquals } from "../assert.ts";

const CLI = new URL("../../cli.ts", import.meta.url).pathname;

/** What one smtpctl run printed and how it ended. */
export interface SmtpctlRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `smtpctl -f CONF ARGS…`, optionally with a prefix (setpriv …) and environment. */
export async function smtpctl(
  conf: string,
  args: readonly string[],
  options: { prefix?: readonly string[]; env?: Record<string, string>; stdin?: string } = {},
): Promise<SmtpctlRun> {
  const deno = [Deno.execPath(), "run", "-A", CLI, "smtpctl", "-f", conf, ...args];
  const [program, ...rest] = [...(options.prefix ?? []), ...deno];
  const child = new Deno.Command(program!, {
    args: rest,
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    ...(options.env ? { env: options.env } : {}),
    signal: AbortSignal.timeout(120_000),
  }).spawn();
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(options.stdin));
    await writer.close();
  }
  const out = await child.output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

/** Runs a command that must succeed; resolves with its standard output. */
export async function smtpctlOk(conf: string, args: readonly string[]): Promise<string> {
  const run = await smtpctl(conf, args);
  assertEquals(run.code, 0, `smtpctl ${args.join(" ")}: ${run.stderr}`);
  return run.stdout;
}

/** Runs `ARGS… --json` and parses what it printed. */
export async function smtpctlJson<T = unknown>(conf: string, args: readonly string[]): Promise<T> {
  return JSON.parse(await smtpctlOk(conf, [...args, "--json"])) as T;
}
