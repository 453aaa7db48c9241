// As root, every delivery runs as its user: two system users are created, mail for each
// goes to a Maildir, an mbox and an mda, and each file belongs to its user. Skipped, with
// the reason printed, when the tests do not run as root.

import { assertEquals } from "../assert.ts";
import {
  commandSucceeds,
  freePort,
  readMaildir,
  sendMessage,
  waitFor,
  waitListening,
} from "../_helpers.ts";

const CLI = new URL("../../cli.ts", import.meta.url).pathname;
const NAMES = ["smtpdtesta", "smtpdtestb"];

function run(command: string, ...args: string[]): Promise<boolean> {
  return commandSucceeds(command, args);
}

Deno.test("as root, each delivery is written by the user it is for", async () => {
  if (Deno.uid() !== 0) {
    console.log("skipped: root delivery test: not running as root");
    return;
  }
  const dir = await Deno.makeTempDir({ prefix: "smtpd-root-" });
  await Deno.chmod(dir, 0o755);
  const created: string[] = [];
  let daemon: Deno.ChildProcess | undefined;
  try {
    for (const name of NAMES) {
      await run("userdel", "-r", name);
      if (!await run("useradd", "-m", "-d", `${dir}/${name}`, "-s", "/bin/sh", name)) {
        console.log("skipped: root delivery test: useradd is not available");
        return;
      }
      created.push(name);
    }
    const ids = new Map<string, string>();
    for (const line of (await Deno.readTextFile("/etc/passwd")).split("\n")) {
      const [name, , uid, gid] = line.split(":");
      if (name && NAMES.includes(name)) ids.set(name, `${uid}:${gid}`);
    }
    await Deno.mkdir(`${dir}/spool`, { mode: 0o1777 });
    await Deno.chmod(`${dir}/spool`, 0o1777);
    const port = freePort();
    await Deno.writeTextFile(
      `${dir}/smtpd.conf`,
      `queue path "${dir}/queue"
listen on 127.0.0.1 port ${port}
action "maildir" maildir
action "mbox" mbox
action "mda" mda "id -u > ~/mda-uid; id -g >> ~/mda-uid"
match from any for domain "maildir.test" action "maildir"
match from any for domain "mbox.test" action "mbox"
match from any for domain "mda.test" action "mda"
`,
    );
    daemon = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", CLI, "-d", "-u", "root", "-f", `${dir}/smtpd.conf`],
      env: { SMTPD_MAIL_SPOOL: `${dir}/spool` },
      stdout: "null",
      stderr: "null",
    }).spawn();
    await waitListening(port);
    for (const name of NAMES) {
      for (const domain of ["maildir.test", "mbox.test", "mda.test"]) {
        await sendMessage(port, {
          from: "a@client.test",
          to: [`${name}@${domain}`],
          body: `Subject: for ${name}\n\nx\n`,
        });
      }
    }
    for (const name of NAMES) {
      const [mail] = await waitFor(`${name}'s Maildir`, async () => {
        const found = await readMaildir(`${dir}/${name}/Maildir`);
        return found.length > 0 ? found : undefined;
      });
      const owner = async (path: string) => {
        const info = await Deno.stat(path);
        return `${info.uid}:${info.gid}`;
      };
      assertEquals(await owner(`${dir}/${name}/Maildir/new/${mail!.name}`), ids.get(name));
      await waitFor(`${name}'s mbox`, () => owner(`${dir}/spool/${name}`).catch(() => undefined));
      assertEquals(await owner(`${dir}/spool/${name}`), ids.get(name));
      const uid = await waitFor(
        `${name}'s mda`,
        () =>
          Deno.readTextFile(`${dir}/${name}/mda-uid`).then((t) => t.includes("\n") ? t : undefined)
            .catch(() => undefined),
      );
      assertEquals(uid.trim().split("\n").join(":"), ids.get(name));
    }
  } finally {
    if (daemon) {
      daemon.kill("SIGTERM");
      await daemon.status;
    }
    for (const name of created) await run("userdel", "-r", name);
    await Deno.remove(dir, { recursive: true });
  }
});
