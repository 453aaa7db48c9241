import { assertEquals, assertRejects } from "../../test/assert.ts";
import { openQueue } from "./mod.ts";
import { QUEUE_DIR_MODE, QUEUE_FILE_MODE, secureQueueDirectory } from "./queue_modes.ts";

const mode = async (path: string) => ((await Deno.stat(path)).mode ?? 0) & 0o7777;

Deno.test("secureQueueDirectory() creates a 0700 queue whose SQLite files are born 0600", async () => {
  const root = await Deno.makeTempDir({ prefix: "smtpd-queue-modes-" });
  try {
    const dir = `${root}/queue`;
    assertEquals(await secureQueueDirectory(dir), []);
    const queue = await openQueue(dir);
    queue.close();
    assertEquals(await mode(dir), QUEUE_DIR_MODE);
    const names: string[] = [];
    for await (const entry of Deno.readDir(dir)) names.push(entry.name);
    assertEquals(names.includes("queue.sqlite"), true);
    for (const name of names) assertEquals([name, await mode(`${dir}/${name}`)], [name, 0o600]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("secureQueueDirectory() tightens a 0755 queue with 0644 files and says what it fixed", async () => {
  const dir = await Deno.makeTempDir({ prefix: "smtpd-queue-loose-" });
  try {
    const queue = await openQueue(dir);
    queue.close();
    await Deno.chmod(dir, 0o755);
    await Deno.chmod(`${dir}/queue.sqlite`, 0o644);
    await Deno.writeTextFile(`${dir}/stray`, "x", { mode: 0o666 });
    await Deno.chmod(`${dir}/stray`, 0o666);
    await Deno.mkdir(`${dir}/offline`, { mode: 0o1777 });
    await Deno.chmod(`${dir}/offline`, 0o1777);
    const warned: string[] = [];
    const log = { info() {}, debug() {}, warn: (line: string) => warned.push(line) };
    const fixes = await secureQueueDirectory(dir, { log });
    assertEquals(fixes.sort(), [
      `${dir} had mode 0755: now 0700`,
      `${dir}/queue.sqlite had mode 0644: now 0600`,
      `${dir}/stray had mode 0666: now 0600`,
    ]);
    assertEquals(warned.length, 3);
    assertEquals(await mode(dir), 0o700);
    assertEquals(await mode(`${dir}/queue.sqlite`), QUEUE_FILE_MODE);
    assertEquals(await mode(`${dir}/stray`), 0o600);
    // A directory of its own inside the queue keeps its mode.
    assertEquals(await mode(`${dir}/offline`), 0o1777);
    assertEquals(await secureQueueDirectory(dir), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("secureQueueDirectory() refuses a queue holding a symbolic link", async () => {
  const dir = await Deno.makeTempDir({ prefix: "smtpd-queue-link-" });
  try {
    await Deno.symlink("/etc/passwd", `${dir}/queue.sqlite-wal`);
    await assertRejects(
      () => secureQueueDirectory(dir),
      Error,
      `The queue holds a symbolic link, ${dir}/queue.sqlite-wal`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("secureQueueDirectory() gives the queue to its user, or refuses naming the file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "smtpd-queue-owner-" });
  try {
    await Deno.writeTextFile(`${dir}/queue.sqlite`, "");
    if (Deno.uid() === 0) {
      // Root gives the queue to its user (nobody here), as the privileged parent does.
      await secureQueueDirectory(dir, { owner: { uid: 65534, gid: 65534 } });
      const info = await Deno.stat(`${dir}/queue.sqlite`);
      assertEquals([info.uid, info.gid, (await Deno.stat(dir)).uid], [65534, 65534, 65534]);
    } else {
      // Anyone else cannot give files away: the start is refused with the reason.
      await assertRejects(
        () =>
          secureQueueDirectory(dir, {
            owner: { uid: (Deno.uid() ?? 0) + 1, gid: Deno.gid() ?? 0 },
          }),
        Error,
        "cannot be given to it",
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
