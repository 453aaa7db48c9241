// Tests for the mailbox checks of mbox delivery against real files: what someone who may
// write the spool can plant under a user's name (a link, a second name of another file, a
// file of their own) is refused and left as it was; a mailbox of one's own is appended to.

import { assertEquals, assertRejects } from "../../test/assert.ts";
import { deliverToMbox } from "./mbox.ts";
import { MailboxRefusedError } from "./mbox_open.ts";

const encoder = new TextEncoder();
const MESSAGE = encoder.encode("Subject: planted\r\n\r\nsecret\r\n");
const DELIVERY = { sender: "s@example.org", deliveredTo: "bob@example.org" };
const AS_ROOT = Deno.uid() === 0;

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "mbox_open_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function exists(path: string): Promise<boolean> {
  return await Deno.lstat(path).then(() => true, () => false);
}

Deno.test("deliverToMbox() refuses a mailbox that is a symbolic link, leaving its target", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/.profile`, "export PATH=/bin\n");
    await Deno.symlink(`${dir}/.profile`, `${dir}/bob`);
    await assertRejects(
      () => deliverToMbox(`${dir}/bob`, MESSAGE, DELIVERY),
      MailboxRefusedError,
      `Refusing mailbox "${dir}/bob": it is a symbolic link`,
    );
    assertEquals(await Deno.readTextFile(`${dir}/.profile`), "export PATH=/bin\n");
    assertEquals(await exists(`${dir}/bob.lock`), false, "the dot-lock is let go");
  });
});

Deno.test("deliverToMbox() does not create the missing target of a link", async () => {
  await withTempDir(async (dir) => {
    await Deno.symlink(`${dir}/authorized_keys`, `${dir}/bob`);
    await assertRejects(
      () => deliverToMbox(`${dir}/bob`, MESSAGE, DELIVERY),
      MailboxRefusedError,
      "symbolic link",
    );
    assertEquals(await exists(`${dir}/authorized_keys`), false);
  });
});

Deno.test("deliverToMbox() refuses a mailbox with a second name (a hard link)", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/.profile`, "export PATH=/bin\n");
    await Deno.link(`${dir}/.profile`, `${dir}/bob`);
    await assertRejects(
      () => deliverToMbox(`${dir}/bob`, MESSAGE, DELIVERY),
      MailboxRefusedError,
      "it is a linked file (2 links)",
    );
    assertEquals(await Deno.readTextFile(`${dir}/.profile`), "export PATH=/bin\n");
  });
});

Deno.test("deliverToMbox() refuses a mailbox that is no regular file", async () => {
  await withTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/bob`);
    await assertRejects(
      () => deliverToMbox(`${dir}/bob`, MESSAGE, DELIVERY),
      MailboxRefusedError,
      "it is not a regular file",
    );
  });
});

Deno.test({
  name: "deliverToMbox() refuses a mailbox someone else owns, even one it may write",
  ignore: !AS_ROOT,
  async fn() {
    await withTempDir(async (dir) => {
      await Deno.writeTextFile(`${dir}/carol`, "");
      await Deno.chmod(`${dir}/carol`, 0o666);
      await Deno.chown(`${dir}/carol`, 4242, 4242);
      await assertRejects(
        () => deliverToMbox(`${dir}/carol`, MESSAGE, DELIVERY),
        MailboxRefusedError,
        "wrong owner: uid 4242, not 0",
      );
      assertEquals(await Deno.readTextFile(`${dir}/carol`), "");
    });
  },
});
if (!AS_ROOT) {
  console.log("mbox owner test skipped: not running as root (files can't be given away)");
}

Deno.test("deliverToMbox() appends to a mailbox of its own and creates a missing one 0600", async () => {
  await withTempDir(async (dir) => {
    await deliverToMbox(`${dir}/bob`, MESSAGE, DELIVERY);
    await deliverToMbox(`${dir}/bob`, MESSAGE, DELIVERY);
    const info = await Deno.stat(`${dir}/bob`);
    assertEquals([info.mode! & 0o777, info.nlink, info.uid], [0o600, 1, Deno.uid()]);
    const text = await Deno.readTextFile(`${dir}/bob`);
    assertEquals(text.match(/^From s@example\.org /gm)?.length, 2);
  });
});
