// A proc-exec filter under privilege separation: the SMTP front (as _smtpd, with no
// --allow-run) cannot start it, so the root parent does, as the filter's user, and the
// front speaks to it through a unix socket in the queue directory. Skipped, with the
// reason printed, when not root or without setpriv.

import { assertEquals, assertStringIncludes, assertTrue } from "../assert.ts";
import { freePort, readMaildir, sendMessage, waitFor, waitListening } from "../_helpers.ts";
import { accountIds, ensureFrontUser, procFile, skipReason } from "./_privsep.ts";
import { echoFilterCommand, scratchDir } from "./_filters.ts";
import { systemAccount } from "../_users.ts";

const CLI = new URL("../../cli.ts", import.meta.url).pathname;

async function psLine(pid: number): Promise<string> {
  const out = await new Deno.Command("ps", {
    args: ["-o", "uid=,ppid=", "-p", String(pid)],
    stdout: "piped",
    stderr: "null",
  }).output();
  return new TextDecoder().decode(out.stdout).trim();
}

async function childrenOf(pid: number): Promise<{ pid: number; command: string }[]> {
  const out = await new Deno.Command("ps", {
    args: ["-o", "pid=,args=", "--ppid", String(pid)],
    stdout: "piped",
    stderr: "null",
  }).output();
  return new TextDecoder().decode(out.stdout).split("\n").flatMap((line) => {
    const m = /^\s*(\d+) (.*)$/.exec(line);
    return m ? [{ pid: Number(m[1]), command: m[2]! }] : [];
  });
}

Deno.test("separated, the parent starts a proc-exec filter as _smtpd and the front's mail goes through it", async () => {
  const skip = skipReason() ?? await ensureFrontUser();
  if (skip) {
    console.log(`skipped: filters under privilege separation: ${skip}`);
    return;
  }
  const dir = await scratchDir();
  await Deno.mkdir(`${dir}/mail`, { mode: 0o777 });
  await Deno.chmod(`${dir}/mail`, 0o777);
  const nobody = await accountIds("nobody");
  const port = freePort();
  await Deno.writeTextFile(
    `${dir}/smtpd.conf`,
    `queue path "${dir}/queue"
filter "echo" proc-exec "${await echoFilterCommand(dir)}"
listen on 127.0.0.1 port ${port} filter "echo"
action "local" maildir "${dir}/mail/%{rcpt.user:lowercase}" virtual { "@example.test" = "vmail" } userbase { vmail = "${nobody.uid}:${nobody.gid}:/nonexistent" }
match from any for domain "example.test" action "local"
`,
  );
  const daemon = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, "-d", "-f", `${dir}/smtpd.conf`],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let log = "";
  const reading = daemon.stderr.pipeThrough(new TextDecoderStream()).pipeTo(
    new WritableStream({ write: (chunk) => void (log += chunk) }),
  );
  try {
    await waitListening(port);
    await sendMessage(port, {
      from: "sender@client.test",
      to: ["alice@example.test"],
      body: "Subject: separated\n\nbody\n",
    });
    const files = await waitFor("the delivery", async () => {
      const found = await readMaildir(`${dir}/mail/alice`).catch(() => []);
      return found.length > 0 ? found : undefined;
    });
    assertStringIncludes(files[0]!.text, "X-Echo-Filter: yes\n");
    // The filter is the parent's child (not the front's), running as _smtpd.
    const smtpd = await accountIds("_smtpd");
    const filter = (await childrenOf(daemon.pid)).find((c) => c.command.includes("echo_filter.py"));
    assertTrue(
      filter !== undefined,
      `the parent's children: ${JSON.stringify(await childrenOf(daemon.pid))}\n${log}`,
    );
    assertEquals((await psLine(filter.pid)).split(/\s+/)[0], String(smtpd.uid));
    assertStringIncludes(log, "filter echo: started for the SMTP front");
    // Its environment is its own user's, with nothing of the root parent's.
    const environ = new Map(
      (await procFile(filter.pid, "environ")).split("\0").filter((v) => v)
        .map((v) => [v.slice(0, v.indexOf("=")), v.slice(v.indexOf("=") + 1)]),
    );
    environ.delete("PWD"); // The shell's own: the directory it runs in.
    const account = await systemAccount("_smtpd");
    assertEquals(Object.fromEntries(environ), {
      PATH: "/usr/bin:/bin:/usr/sbin:/sbin:/usr/local/bin",
      HOME: account.home,
      USER: "_smtpd",
      LOGNAME: "_smtpd",
      SHELL: "/bin/sh",
    });
  } finally {
    daemon.kill("SIGTERM");
    await daemon.status;
    await reading.catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
});
