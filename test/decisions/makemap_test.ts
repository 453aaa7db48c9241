// makemap's forms from OpenSMTPD's makemap.c (standard input, -o, sendmail's `makemap TYPE
// DBFILE`, -bi, -O AliasFile=) and newaliases telling a running daemon to read what it
// rebuilt, seen as an operator sees them: exit codes, -U dumps, and the daemon's replies.

import { assertEquals, assertStringIncludes } from "../assert.ts";
import { OWN_IDS, SmtpTestClient, spawnLoggedDaemon, waitFor } from "../_helpers.ts";

const CLI = new URL("../../cli.ts", import.meta.url).pathname;

async function run(args: readonly string[], stdin = "") {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(stdin));
  await writer.close();
  const out = await child.output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

Deno.test("makemap reads standard input with -o, and sendmail's makemap TYPE DBFILE form", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const input = "root alice\npostmaster root\n";
    assertEquals((await run(["makemap", "-o", `${dir}/a.db`, "-"], input)).code, 0);
    assertEquals(
      (await run(["makemap", "-U", `${dir}/a.db`])).stdout,
      "postmaster\troot\nroot\talice\n",
    );
    // makemap hash DBFILE < input: `.db` is added unless the name has it.
    assertEquals((await run(["makemap", "hash", `${dir}/b`], input)).code, 0);
    assertEquals(
      (await run(["makemap", "-U", `${dir}/b.db`])).stdout,
      "postmaster\troot\nroot\talice\n",
    );
    assertEquals((await run(["makemap", "btree", `${dir}/c.db`], "example.org\n")).code, 0);
    assertEquals((await run(["makemap", "-U", `${dir}/c.db`])).stdout, "example.org\n");
    const refused = await run(["makemap", "-"], input);
    assertEquals(refused.code, 64);
    assertStringIncludes(refused.stderr, "makemap: reading standard input needs -o DBFILE");
    const wrong = await run(["makemap", "-o", `${dir}/x.db`, "gdbm", `${dir}/x`], input);
    assertEquals(wrong.code, 64);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("makemap -O AliasFile=PATH builds that aliases file, -bi runs newaliases", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/aliases`, "root: alice, bob\n");
    assertEquals((await run(["makemap", "-O", `AliasFile=${dir}/aliases`])).code, 0);
    assertEquals((await run(["makemap", "-U", `${dir}/aliases.db`])).stdout, "root\talice, bob\n");
    await Deno.writeTextFile(`${dir}/aliases`, "root: carol\n");
    assertEquals((await run(["makemap", "-bi", `${dir}/aliases`])).code, 0);
    assertEquals((await run(["makemap", "-U", `${dir}/aliases.db`])).stdout, "root\tcarol\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("newaliases tells the running daemon to read the alias tables it rebuilt", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/aliases`, "old: vmail\n");
  assertEquals((await run(["makemap", "-t", "aliases", `${dir}/aliases`])).code, 0);
  const conf = `${dir}/smtpd.conf`;
  await Deno.writeTextFile(
    conf,
    `queue path "${dir}/queue"
listen on 127.0.0.1 port 0
table aliases db:${dir}/aliases.db
table base { vmail = "${OWN_IDS}:/nonexistent" }
action "l" maildir "${dir}/mail" alias <aliases> userbase <base>
match from any for domain "example.test" action "l"
`,
  );
  // A daemon of its own (not in this process), whose control socket newaliases reaches.
  const daemon = spawnLoggedDaemon(conf);
  try {
    const port = await waitFor("the daemon to listen", () => {
      const m = /listening on 127\.0\.0\.1 port (\d+)/.exec(daemon.log());
      return m ? Number(m[1]) : undefined;
    }, 60_000);
    const rcpt = async (address: string) => {
      await using client = await SmtpTestClient.connect(port);
      await client.expect("220 ");
      await client.send("EHLO c.test");
      await client.expect("250 ");
      await client.send("MAIL FROM:<a@c.test>");
      await client.expect("250 ");
      await client.send(`RCPT TO:<${address}>`);
      return await client.reply();
    };
    assertEquals(
      await rcpt("new@example.test"),
      "550 5.1.1 Invalid recipient: <new@example.test>",
    );
    await Deno.writeTextFile(`${dir}/aliases`, "old: vmail\nnew: vmail\n");
    const rebuilt = await run(["newaliases", "-f", conf]);
    assertEquals(rebuilt.code, 0, rebuilt.stderr);
    assertStringIncludes(rebuilt.stderr, 'newaliases: the running daemon reloaded table "aliases"');
    assertEquals(
      await rcpt("new@example.test"),
      "250 2.1.5 Destination address valid: Recipient ok",
    );
  } finally {
    daemon.child.kill("SIGTERM");
    await daemon.exited();
    await Deno.remove(dir, { recursive: true });
  }
});
