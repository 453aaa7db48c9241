import { assertEquals, assertRejects } from "../../test/assert.ts";
import { loadConfig } from "../config/mod.ts";
import { parsePasswd, TableSet } from "../tables/mod.ts";
import {
  type CheckContext,
  checkMailboxRequest,
  checkPipeCommand,
  checkTableName,
  checkUser,
  readIncludeForFront,
  RefusedRequest,
} from "./parent_checks.ts";

const PASSWD = parsePasswd(
  "root:x:0:0:root:/root:/bin/sh\nalice:x:1001:1001::/home/alice:/bin/sh\n" +
    "nobody:x:65534:65534::/nonexistent:/usr/sbin/nologin\n",
);

async function context(dir: string): Promise<CheckContext & { tables: TableSet }> {
  await Deno.writeTextFile(
    `${dir}/smtpd.conf`,
    `table aliases { list = "|/usr/bin/archive", other = "bob" }
action "local" maildir alias <aliases>
action "virt" maildir userbase { vmail = "2000:2000:/var/vmail" }
match from any for domain "example.test" action "local"
match from any for domain "virt.test" action "virt"
`,
  );
  const config = await loadConfig(`${dir}/smtpd.conf`);
  const tables = await TableSet.open(config, { baseDir: dir });
  return {
    config,
    tables,
    lookupUser: (name) => Promise.resolve(PASSWD.get(name)),
  } as CheckContext & { tables: TableSet };
}

async function withContext(fn: (ctx: CheckContext, dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "smtpd-parent-checks-" });
  const ctx = await context(dir);
  try {
    await fn({ ...ctx, tables: ctx.tables.tables }, dir);
  } finally {
    ctx.tables.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("checkUser() takes only a non-root account with exactly its ids and home", async () => {
  await withContext(async (ctx) => {
    const alice = { name: "alice", uid: 1001, gid: 1001, home: "/home/alice" };
    assertEquals(await checkUser(alice, ctx), alice);
    // A userbase entry of the configuration.
    const vmail = { name: "vmail", uid: 2000, gid: 2000, home: "/var/vmail" };
    assertEquals(await checkUser(vmail, ctx), vmail);
    const refused = [
      [{ name: "root", uid: 0, gid: 0, home: "/root" }, "will not deliver as root"],
      [{ ...alice, uid: 0 }, "will not deliver as root"],
      [{ ...alice, gid: 0 }, "will not deliver as root"],
      [{ ...alice, uid: 1002 }, "neither a system account nor in a userbase"],
      [{ ...alice, home: "/root" }, "neither a system account nor in a userbase"],
      [{ ...vmail, uid: 2001 }, "neither a system account nor in a userbase"],
      [{ name: "mallory", uid: 1003, gid: 1003, home: "/tmp" }, "neither a system account"],
      [{ ...alice, name: "../etc" }, "is not a user name"],
      [{ ...alice, uid: 1.5 }, "bad uid or gid"],
      [null, "no user given"],
    ] as const;
    for (const [user, why] of refused) {
      await assertRejects(() => checkUser(user, ctx), RefusedRequest, why);
    }
  });
});

Deno.test("checkMailboxRequest() takes plain absolute paths and nothing else", () => {
  const maildir = {
    kind: "maildir" as const,
    dir: "/home/alice/Maildir",
    returnPath: "a@b",
    deliveredTo: "alice@example.test",
    evpid: "0123abcd",
    recovered: false,
  };
  assertEquals(checkMailboxRequest(maildir), maildir);
  const home = { user: "alice", home: "/home/alice", path: "Maildir" };
  assertEquals(checkMailboxRequest({ ...maildir, home }), { ...maildir, home });
  for (
    const bad of [
      { ...maildir, dir: "Maildir" },
      { ...maildir, home: { ...home, home: "home/alice" } },
      { ...maildir, home: "/home/alice" },
      { ...maildir, dir: "/home/alice/../../etc" },
      { ...maildir, dir: "/home/alice\0/x" },
      { ...maildir, evpid: "../x" },
      { kind: "mbox", path: "relative", sender: "" },
      { kind: "shell", command: "rm -rf /" },
    ]
  ) {
    let refused = false;
    try {
      checkMailboxRequest(bad);
    } catch (error) {
      refused = error instanceof RefusedRequest;
    }
    assertEquals([bad, refused], [bad, true]);
  }
});

Deno.test("checkPipeCommand() runs a command only where the user's .forward or the aliases name it", async () => {
  await withContext(async (ctx) => {
    const action = ctx.config.actions.find((a) => a.name === "local")!;
    const alice = { name: "alice", uid: 1001, gid: 1001, home: "/home/alice" };
    const nobody = { name: "nobody", uid: 65534, gid: 65534, home: "/nonexistent" };
    const checks = {
      ...ctx,
      readForward: (user: { name: string }) =>
        Promise.resolve(user.name === "alice" ? ['"|/usr/bin/procmail -a x"'] : undefined),
      readInclude: () => Promise.resolve(""),
    };
    await checkPipeCommand("/usr/bin/procmail -a x", action, alice, checks);
    await checkPipeCommand("/usr/bin/archive", action, nobody, checks);
    // Not in alice's .forward; an aliases command only as the aliases user; nothing else.
    await assertRejects(
      () => checkPipeCommand("/usr/bin/archive", action, alice, checks),
      RefusedRequest,
      "is in neither its ~/.forward nor the aliases",
    );
    await assertRejects(
      () => checkPipeCommand("sh -c 'id'", action, nobody, checks),
      RefusedRequest,
      "is in neither",
    );
  });
});

Deno.test("readIncludeForFront() reads only what anyone may read", async () => {
  const dir = await Deno.makeTempDir({ prefix: "smtpd-include-" });
  await Deno.chmod(dir, 0o755);
  try {
    // A world-readable file in a directory only its owner may enter is private all the same.
    await Deno.mkdir(`${dir}/home`, { mode: 0o700 });
    await Deno.chmod(`${dir}/home`, 0o700);
    await Deno.writeTextFile(`${dir}/home/notes`, "password=hunter2\n", { mode: 0o644 });
    await Deno.chmod(`${dir}/home/notes`, 0o644);
    await assertRejects(
      () => readIncludeForFront(`${dir}/home/notes`),
      RefusedRequest,
      `is in ${dir}/home, which not everyone may enter`,
    );
    await Deno.writeTextFile(`${dir}/open`, "alice\n", { mode: 0o644 });
    await Deno.chmod(`${dir}/open`, 0o644);
    await Deno.writeTextFile(`${dir}/secret`, "root:hash\n", { mode: 0o640 });
    await Deno.chmod(`${dir}/secret`, 0o640);
    assertEquals(await readIncludeForFront(`${dir}/open`), "alice\n");
    await assertRejects(
      () => readIncludeForFront(`${dir}/secret`),
      RefusedRequest,
      "is not world-readable",
    );
    await assertRejects(() => readIncludeForFront(dir), RefusedRequest, "not a regular file");
    await assertRejects(() => readIncludeForFront("open"), RefusedRequest, "plain absolute path");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("checkTableName() takes only a table the configuration declares, by name", async () => {
  await withContext((ctx, dir) => {
    assertEquals(checkTableName("aliases", ctx), "aliases");
    for (const name of ["nosuch", `${dir}/smtpd.conf`, "", 7]) {
      let refused: unknown;
      try {
        checkTableName(name, ctx);
      } catch (error) {
        refused = error;
      }
      assertEquals(refused instanceof RefusedRequest, true, String(name));
    }
    return Promise.resolve();
  });
});
