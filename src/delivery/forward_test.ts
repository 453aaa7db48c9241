// ~/.forward as read for a delivery: only a regular file of the user's own that neither
// group nor others may write, opened without following a link and checked on the open
// file, so that it cannot be swapped for a link to a file only root may read between the
// check and the read; a FIFO is refused without waiting for a writer. An answer is kept
// for FORWARD_KEPT_MS unless the file is asked for as it is now.

import { assertEquals, assertMatch } from "../../test/assert.ts";
import { createLogger } from "../log/mod.ts";
import { readForwardFile } from "./forward.ts";

const UID = Deno.uid() ?? 0;
const GID = Deno.gid() ?? 0;

Deno.test("readForwardFile() reads only the user's own safe file, never through a link", async () => {
  const dir = await Deno.makeTempDir({ prefix: "smtpd-forward-" });
  await Deno.chmod(dir, 0o755);
  const lines: string[] = [];
  const log = createLogger({ sink: (line) => lines.push(line) });
  const home = (name: string) => `${dir}/${name}`;
  const user = (name: string, uid = UID) => ({
    name,
    uid,
    gid: GID,
    home: home(name),
  });
  try {
    for (const name of ["plain", "link", "fifo", "other", "open", "none"]) {
      await Deno.mkdir(home(name), { mode: 0o755 });
      await Deno.chmod(home(name), 0o755);
    }
    await Deno.writeTextFile(
      `${home("plain")}/.forward`,
      "# mine\nplain@elsewhere.test, \\plain\n",
    );
    await Deno.chmod(`${home("plain")}/.forward`, 0o600);
    assertEquals(await readForwardFile(user("plain"), log), ["plain@elsewhere.test", "\\plain"]);

    // A link to a file of another owner (one only root may read, say) is not read through:
    // not followed, or (where the runtime resolves links itself to check its permissions)
    // refused on the open file's owner.
    await Deno.writeTextFile(`${dir}/secret`, "root:secret-hash\n");
    await Deno.chmod(`${dir}/secret`, 0o600);
    if (UID === 0) await Deno.chown(`${dir}/secret`, 65534, 65534);
    await Deno.symlink(`${dir}/secret`, `${home("link")}/.forward`);
    const linkUser = UID === 0 ? user("link") : user("link", UID + 1);
    assertEquals(await readForwardFile(linkUser, log), undefined);
    // A FIFO nobody writes to: refused at once, not waited on.
    const mkfifo = await new Deno.Command("mkfifo", { args: [`${home("fifo")}/.forward`] })
      .output();
    assertEquals(mkfifo.success, true);
    assertEquals(await readForwardFile(user("fifo"), log), undefined);
    // Another uid's file, and a world-writable one.
    await Deno.writeTextFile(`${home("other")}/.forward`, "x@elsewhere.test\n");
    assertEquals(await readForwardFile(user("other", UID + 1), log), undefined);
    await Deno.writeTextFile(`${home("open")}/.forward`, "x@elsewhere.test\n");
    await Deno.chmod(`${home("open")}/.forward`, 0o666);
    assertEquals(await readForwardFile(user("open"), log), undefined);
    assertEquals(await readForwardFile(user("none"), log), undefined);
    const said = lines.map((line) => line.replace(/^\S+ \w+: /, "").replace(dir, "DIR"));
    assertMatch(
      said.shift()!,
      /^delivery: ignoring DIR\/link\/.forward: (a symbolic link|owned by uid)/,
    );
    assertEquals(said, [
      "delivery: ignoring DIR/fifo/.forward: not a regular file",
      `delivery: ignoring DIR/other/.forward: owned by uid ${UID}, not by other`,
      "delivery: ignoring DIR/open/.forward: group- or world-writable",
    ]);

    // Kept for a moment, unless asked for as it is now.
    await Deno.writeTextFile(`${home("plain")}/.forward`, "new@elsewhere.test\n");
    assertEquals(await readForwardFile(user("plain"), log), ["plain@elsewhere.test", "\\plain"]);
    assertEquals(await readForwardFile(user("plain"), log, { fresh: true }), [
      "new@elsewhere.test",
    ]);
    assertEquals(await readForwardFile(user("plain"), log), ["new@elsewhere.test"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
