// System users for tests that run as root: useradd and userdel, retried while another
// test holds the password files' lock (they exit 10 then: "cannot lock /etc/passwd").

const LOCKED = 10;

async function runRetried(cmd: string, args: string[]): Promise<void> {
  for (let attempt = 1;; attempt++) {
    const out = await new Deno.Command(cmd, { args, stdout: "null", stderr: "piped" }).output();
    if (out.success) return;
    if (out.code !== LOCKED || attempt >= 50) {
      throw new Error(
        `${cmd} ${args.join(" ")}: exit ${out.code}: ${new TextDecoder().decode(out.stderr)}`,
      );
    }
    // Another useradd or userdel holds the lock for a few milliseconds.
    await new Promise((r) => setTimeout(r, 100 * Math.min(attempt, 5)));
  }
}

/** Creates a user with its home at `home` and /bin/sh as its shell. */
export async function createUser(name: string, home: string): Promise<void> {
  await runRetried("useradd", ["-m", "-d", home, "-s", "/bin/sh", name]);
}

/** Removes a user and its home; a user already gone is not an error. */
export async function removeUser(name: string): Promise<void> {
  await runRetried("userdel", ["-r", name]).catch(() => {});
}

/** An account of /etc/passwd: its name, ids and home. */
export async function systemAccount(
  wanted: string,
): Promise<{ name: string; uid: number; gid: number; home: string }> {
  for (const line of (await Deno.readTextFile("/etc/passwd")).split("\n")) {
    const [name, , uid, gid, , home] = line.split(":");
    if (name === wanted) return { name, uid: Number(uid), gid: Number(gid), home: home! };
  }
  throw new Error(`no account ${wanted}`);
}
