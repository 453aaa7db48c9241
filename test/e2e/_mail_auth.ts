// A daemon for the mail authentication tests: one listener with the given filter lines,
// mail for example.test into Maildirs, DNS through the test's own server, the log kept.

import { loadConfig, startDaemon } from "../../mod.ts";
import { createLogger } from "../../src/log/mod.ts";
import { freePort, OWN_IDS, readMaildir, SmtpTestClient, waitFor } from "../_helpers.ts";

/** A running daemon. */
export interface MailAuthFixture extends AsyncDisposable {
  readonly dir: string;
  readonly port: number;
  readonly log: string[];
  /** The messages delivered to a user, waiting for `count` of them. */
  delivered(user: string, count?: number): Promise<string[]>;
}

/**
 * Starts the daemon: `head` before the listener (filter declarations), `listen` after
 * `listen on … port N` (e.g. `filter "sign"`), `rule` in the one rule, DNS at
 * 127.0.0.1:dnsPort.
 */
export async function startMailAuthFixture(options: {
  dir: string;
  head: string;
  listen?: string;
  /** Words for the rule, before its action (e.g. `filter "check"`). */
  rule?: string;
  dnsPort: number;
  dnsTimeoutMs?: number;
}): Promise<MailAuthFixture> {
  const { dir } = options;
  const port = freePort();
  const path = `${dir}/smtpd.conf`;
  await Deno.writeTextFile(
    path,
    `queue path "${dir}/queue"
${options.head}
listen on 127.0.0.1 port ${port} hostname mx.example.test ${options.listen ?? ""}
action "local" maildir "${dir}/mail/%{rcpt.user:lowercase}/Maildir" virtual { "@example.test" = "vmail" } userbase { vmail = "${OWN_IDS}:/nonexistent" }
match from any for domain "example.test" ${options.rule ?? ""} action "local"
`,
  );
  const log: string[] = [];
  const daemon = await startDaemon({
    config: await loadConfig(path),
    log: createLogger({ sink: (line) => log.push(line) }),
    dns: {
      nameServer: { ipAddr: "127.0.0.1", port: options.dnsPort },
      timeoutMs: options.dnsTimeoutMs ?? 10_000,
    },
  });
  return {
    dir,
    port,
    log,
    async delivered(user, count = 1) {
      const files = await waitFor(`${count} message(s) for ${user}`, async () => {
        const found = await readMaildir(`${dir}/mail/${user}/Maildir`).catch(() => []);
        return found.length >= count ? found : undefined;
      });
      return files.map((f) => f.text);
    },
    async [Symbol.asyncDispose]() {
      await daemon.stop();
    },
  };
}

/**
 * One message in its own session, by DATA (dot-stuffed lines) or, with `bdat`, in two
 * BDAT chunks (the lines as they are); resolves with the reply to the end of the data.
 */
export async function sendRaw(
  port: number,
  message: {
    helo?: string;
    from: string;
    to: string;
    lines: readonly string[];
    bdat?: boolean;
  },
): Promise<string> {
  await using client = await SmtpTestClient.connect(port);
  await client.expect("220 ");
  await client.send(`EHLO ${message.helo ?? "client.example.org"}`);
  await client.expect("250 ");
  let reply: string;
  if (message.bdat) {
    await client.send(`MAIL FROM:<${message.from}>`);
    await client.expect("250 ");
    await client.send(`RCPT TO:<${message.to}>`);
    await client.expect("250 ");
    const half = Math.ceil(message.lines.length / 2);
    const chunks = [message.lines.slice(0, half), message.lines.slice(half)]
      .map((lines) => new TextEncoder().encode(lines.map((l) => `${l}\r\n`).join("")));
    await client.sendRaw(`BDAT ${chunks[0]!.byteLength}\r\n`);
    await client.sendRaw(new TextDecoder().decode(chunks[0]));
    await client.sendRaw(`BDAT ${chunks[1]!.byteLength} LAST\r\n`);
    await client.sendRaw(new TextDecoder().decode(chunks[1]));
    await client.expect("250 ");
    reply = await client.reply();
  } else {
    await client.startData(message.from, [message.to]);
    await client.sendRaw(message.lines.map((l) => `${l}\r\n`).join("") + ".\r\n");
    reply = await client.reply();
  }
  await client.send("QUIT");
  await client.expect("221 ");
  return reply;
}

/** Runs a command with stdin; its exit code and output. */
export async function run(command: string, args: string[], stdin: string) {
  const child = new Deno.Command(command, {
    args,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(stdin));
  await writer.close();
  const out = await child.output();
  return {
    code: out.code,
    text: new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr),
  };
}
