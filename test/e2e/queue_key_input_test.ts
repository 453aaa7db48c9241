// `queue encryption` with the key left to standard input, as an operator starts the daemon:
// one line of a pipe (which may stay open), or a prompt without echo on a terminal.

import { assertEquals, assertStringIncludes, assertTrue } from "../assert.ts";
import { commandSucceeds, freePort, waitListening } from "../_helpers.ts";

const CLI = new URL("../../cli.ts", import.meta.url).pathname;
const KEY = "ab".repeat(32);

async function encryptedConf(dir: string, keyWord: string, port: number): Promise<string> {
  const path = `${dir}/smtpd.conf`;
  await Deno.writeTextFile(
    path,
    `queue path "${dir}/queue"\nqueue encryption ${keyWord}\nlisten on 127.0.0.1 port ${port}\n` +
      `action "a" maildir "${dir}/mail"\nmatch from any for domain "x.test" action "a"\n`,
  );
  return path;
}

Deno.test("smtpd takes the queue key from one line of a pipe that stays open", async () => {
  const dir = await Deno.makeTempDir({ prefix: "smtpd-key-pipe-" });
  const port = freePort();
  const daemon = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, "-d", "-u", "root", "-f", await encryptedConf(dir, "stdin", port)],
    env: { SMTPD_QUEUE_KEY: "" },
    stdin: "piped",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const stdin = daemon.stdin.getWriter();
  try {
    // No end of input: the daemon must start on the line alone.
    await stdin.write(new TextEncoder().encode(`${KEY}\nmore input\n`));
    assertTrue(await waitListening(port, 60_000));
  } finally {
    // A daemon still waiting for the end of its input stops only once it has it.
    await stdin.close().catch(() => {});
    daemon.kill("SIGTERM");
    await daemon.status;
    await Deno.remove(dir, { recursive: true });
  }
});

// A pseudo-terminal from python3's pty module: the daemon is started on it, the test waits
// for the prompt, types the key and Enter, and prints what the terminal showed until the
// daemon exits.
const PTY_SCRIPT = `
import os, pty, select, sys, time
key, argv = sys.argv[1], sys.argv[2:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(argv[0], argv)
shown = b""
def read_until(marker, seconds):
    global shown
    end = time.time() + seconds
    while marker not in shown and time.time() < end:
        if select.select([fd], [], [], 0.2)[0]:
            try:
                shown += os.read(fd, 4096)
            except OSError:
                break
read_until(b"queue key: ", 60)
os.write(fd, (key + "\\r").encode())
# Until the daemon, stopped by the test, closes the terminal.
read_until(b"\\0never", 120)
sys.stdout.write(shown.decode(errors="replace"))
sys.stdout.flush()
`;

Deno.test("smtpd asks for the queue key on a terminal, and does not echo it", async () => {
  if (!await commandSucceeds("python3", ["-c", "import pty"])) {
    console.log("skipped: no python3 with a pty module");
    return;
  }
  const dir = await Deno.makeTempDir({ prefix: "smtpd-key-tty-" });
  const port = freePort();
  const conf = await encryptedConf(dir, "", port);
  const terminal = new Deno.Command("python3", {
    args: [
      "-c",
      PTY_SCRIPT,
      KEY,
      Deno.execPath(),
      "run",
      "-A",
      CLI,
      "-d",
      "-u",
      "root",
      "-f",
      conf,
    ],
    env: { SMTPD_QUEUE_KEY: "" },
    stdout: "piped",
    stderr: "null",
  }).spawn();
  try {
    assertTrue(await waitListening(port, 60_000));
  } finally {
    // The daemon is python's child on the terminal: ending python hangs the terminal up.
    // ps(1), as /proc is read only under -A, which the suite does not run with.
    const children = await new Deno.Command("ps", {
      args: ["-o", "pid=", "--ppid", String(terminal.pid)],
      stdout: "piped",
      stderr: "null",
    }).output();
    const pids = new TextDecoder().decode(children.stdout).trim().split(/\s+/).filter(Boolean)
      .map(Number);
    assertTrue(pids.length > 0, "the daemon runs on the terminal");
    for (const pid of pids) Deno.kill(pid, "SIGTERM");
    const shown = new TextDecoder().decode((await terminal.output()).stdout);
    assertStringIncludes(shown, "queue key: ");
    assertEquals(shown.includes(KEY), false, `the key was echoed: ${shown}`);
    await Deno.remove(dir, { recursive: true });
  }
});
