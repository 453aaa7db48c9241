// The `smtpctl` command. This version has `encrypt`: a password hash for credentials
// tables, from the argument or from standard input, as OpenSMTPD's smtpctl prints it.

import { hashPassword } from "../auth/mod.ts";

type Handler = (args: readonly string[]) => Promise<number>;

/** Control commands by their words, as smtpctl(8) names them. */
const COMMANDS: Readonly<Record<string, Handler>> = {
  encrypt: runEncrypt,
};

/** Runs `smtpctl ARGS…`; resolves with the exit code. */
export async function runSmtpctl(args: readonly string[]): Promise<number> {
  const [word, ...rest] = args;
  // smtpctl(8) accepts unambiguous prefixes (`enc` for `encrypt`).
  const matches = Object.keys(COMMANDS).filter((c) => word !== undefined && c.startsWith(word));
  if (matches.length !== 1) {
    console.error(`usage: smtpctl ${Object.keys(COMMANDS).join(" | ")} …`);
    return 64;
  }
  return await COMMANDS[matches[0]!]!(rest);
}

async function runEncrypt(args: readonly string[]): Promise<number> {
  if (args.length > 1) {
    console.error("usage: smtpctl encrypt [string]");
    return 64;
  }
  const password = args[0] ?? (await readLine());
  if (password === undefined) {
    console.error("smtpctl: no password given");
    return 65;
  }
  console.log(hashPassword(password));
  return 0;
}

// The first line of standard input, without its line end.
async function readLine(): Promise<string | undefined> {
  const text = await new Response(Deno.stdin.readable).text();
  if (text === "") return undefined;
  return text.split(/\r?\n/)[0];
}
