import { assertEquals, assertStringIncludes } from "../../test/assert.ts";
import { DbTable, parseTableFile } from "../tables/mod.ts";
import { runMakemap, runNewaliases } from "./makemap.ts";

function capture(): { lines: string[]; write: (line: string) => void } {
  const lines: string[] = [];
  return { lines, write: (line) => lines.push(line) };
}

Deno.test("runMakemap() builds FILE.db from a table(5) file", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(
    `${dir}/virtual`,
    "# users\ngilles@example.org  gilles\n@example.org eric\n",
  );
  assertEquals(await runMakemap([`${dir}/virtual`]), 0);
  const table = DbTable.open("virtual", `${dir}/virtual.db`);
  assertEquals(table.shape, "map");
  assertEquals(table.lookup("alias", "gilles@example.org"), "gilles");
  assertEquals(table.lookup("alias", "@example.org"), "eric");
  table.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("runMakemap() -t aliases parses aliases(5) and -o names the output", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/aliases`, "Root: gilles,\n  eric\nabuse: root\n");
  assertEquals(await runMakemap(["-t", "aliases", "-o", `${dir}/out.db`, `${dir}/aliases`]), 0);
  const table = DbTable.open("aliases", `${dir}/out.db`);
  assertEquals(table.lookup("alias", "root"), "gilles, eric");
  assertEquals(table.lookup("alias", "abuse"), "root");
  table.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("runMakemap() -t set makes a list table of whole lines", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/domains`, "example.org\n*.example.net # subs\n");
  assertEquals(await runMakemap(["-t", "set", `${dir}/domains`]), 0);
  const table = DbTable.open("domains", `${dir}/domains.db`);
  assertEquals(table.shape, "list");
  assertEquals(table.match("domain", "a.example.net"), true);
  table.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("runMakemap() answers with sysexits codes and says why", async () => {
  const dir = await Deno.makeTempDir();
  const err = capture();
  assertEquals(await runMakemap([], { stderr: err.write }), 64);
  assertEquals(await runMakemap(["-t", "hash", "x"], { stderr: err.write }), 64);
  assertEquals(await runMakemap(["-z", "x"], { stderr: err.write }), 64);
  assertEquals(await runMakemap([`${dir}/missing`], { stderr: err.write }), 66);
  assertStringIncludes(err.lines.join("\n"), `makemap: cannot read "${dir}/missing"`);
  await Deno.writeTextFile(`${dir}/aliases`, "root:\n");
  assertEquals(await runMakemap(["-t", "aliases", `${dir}/aliases`], { stderr: err.write }), 65);
  assertStringIncludes(err.lines.join("\n"), `${dir}/aliases:1: alias "root" has no value`);
  await Deno.writeTextFile(`${dir}/list`, "a\n");
  const out = `${dir}/no/such/dir/list.db`;
  assertEquals(await runMakemap(["-o", out, `${dir}/list`], { stderr: err.write }), 73);
  assertStringIncludes(err.lines.join("\n"), `cannot create "${out}"`);
  assertEquals(await runMakemap(["-h"], { stdout: err.write }), 0);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("runMakemap() gives the db its source's mode and owner, again at every rebuild", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/creds`, "bob $6$abc\n");
  await Deno.chmod(`${dir}/creds`, 0o600);
  assertEquals(await runMakemap([`${dir}/creds`]), 0);
  assertEquals((await Deno.stat(`${dir}/creds.db`)).mode! & 0o777, 0o600);
  // A mode set on the db is not what counts: the source's is.
  await Deno.chmod(`${dir}/creds.db`, 0o644);
  await Deno.chmod(`${dir}/creds`, 0o640);
  assertEquals(await runMakemap([`${dir}/creds`]), 0);
  assertEquals((await Deno.stat(`${dir}/creds.db`)).mode! & 0o777, 0o640);
  if (Deno.uid() === 0) {
    await Deno.chown(`${dir}/creds`, 65534, 65534);
    assertEquals(await runMakemap([`${dir}/creds`]), 0);
    const db = await Deno.stat(`${dir}/creds.db`);
    assertEquals([db.uid, db.gid, db.mode! & 0o777], [65534, 65534, 0o640]);
  } else {
    console.log("the owner half skipped: only root can give a db away");
  }
  // From standard input there is no source: 0644 less the umask, as before.
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("../../cli.ts", import.meta.url).pathname,
      "makemap",
      "-o",
      `${dir}/stdin.db`,
      "-",
    ],
    stdin: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode("key value\n"));
  await writer.close();
  assertEquals((await child.status).code, 0);
  const umask = Deno.umask(0o022);
  Deno.umask(umask);
  assertEquals((await Deno.stat(`${dir}/stdin.db`)).mode! & 0o777, 0o644 & ~umask);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("runMakemap() refuses a key written twice, naming its line, and writes no db", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/map`, "root gilles\n");
  assertEquals(await runMakemap([`${dir}/map`]), 0);
  // Keys compare ignoring case, as lookups do.
  await Deno.writeTextFile(`${dir}/map`, "root eric\nabuse root\n# again\nRoot gilles\n");
  const err = capture();
  assertEquals(await runMakemap([`${dir}/map`], { stderr: err.write }), 65);
  assertEquals(err.lines, [`makemap: ${dir}/map:4: duplicate entry for "Root"`]);
  // The db built before is left as it was, and nothing else is written beside it.
  const out = capture();
  assertEquals(await runMakemap(["-U", `${dir}/map.db`], { stdout: out.write }), 0);
  assertEquals(out.lines, ["root\tgilles"]);
  assertEquals([...Deno.readDirSync(dir)].map((e) => e.name).sort(), ["map", "map.db"]);

  await Deno.writeTextFile(`${dir}/aliases`, "root: first\nabuse: root\nroot:\n  second\n");
  await Deno.writeTextFile(`${dir}/set`, "a.example\n\nA.example\n");
  const more = capture();
  assertEquals(await runMakemap(["-t", "aliases", `${dir}/aliases`], { stderr: more.write }), 65);
  assertEquals(await runMakemap(["-t", "set", `${dir}/set`], { stderr: more.write }), 65);
  assertEquals(await runNewaliases([`${dir}/aliases`], { stderr: more.write }), 65);
  assertEquals(more.lines, [
    `makemap: ${dir}/aliases:3: duplicate entry for "root"`,
    `makemap: ${dir}/set:3: duplicate entry for "A.example"`,
    `newaliases: ${dir}/aliases:3: duplicate entry for "root"`,
  ]);
  assertEquals([...Deno.readDirSync(dir)].map((e) => e.name).sort(), [
    "aliases",
    "map",
    "map.db",
    "set",
  ]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("runNewaliases() rebuilds the aliases db named by -f or by argument", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/aliases`, "postmaster: root\n");
  assertEquals(await runNewaliases(["-f", `${dir}/aliases`]), 0);
  const table = DbTable.open("aliases", `${dir}/aliases.db`);
  assertEquals(table.lookup("alias", "postmaster"), "root");
  table.close();
  await Deno.writeTextFile(`${dir}/aliases`, "postmaster: gilles\n");
  assertEquals(await runNewaliases([`${dir}/aliases`]), 0);
  const again = DbTable.open("aliases", `${dir}/aliases.db`);
  assertEquals(again.lookup("alias", "postmaster"), "gilles");
  again.close();
  const err = capture();
  assertEquals(await runNewaliases([`${dir}/none`], { stderr: err.write }), 66);
  assertStringIncludes(err.lines[0] ?? "", "newaliases: cannot read");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("runNewaliases() -f smtpd.conf rebuilds the db of every alias table it uses", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.mkdir(`${dir}/seed`);
  await Deno.writeTextFile(`${dir}/seed/aliases`, "postmaster: root\nwebmaster: alice, bob\n");
  // The seed's first configuration, which names its table relative to itself.
  const seed = await Deno.readTextFile(new URL("../../examples/seed-first.conf", import.meta.url));
  await Deno.writeTextFile(`${dir}/smtpd.conf`, seed);
  const err = capture();
  assertEquals(await runNewaliases(["-f", `${dir}/smtpd.conf`], { stderr: err.write }), 0);
  assertEquals(err.lines, [`newaliases: rebuilt ${dir}/seed/aliases.db`]);
  const table = DbTable.open("aliases", `${dir}/seed/aliases.db`);
  assertEquals(table.lookup("alias", "webmaster"), "alice, bob");
  table.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("runNewaliases() reports a configuration that does not load, and builds nothing", async () => {
  const dir = await Deno.makeTempDir();
  const conf = `${dir}/smtpd.conf`;
  await Deno.writeTextFile(`${dir}/aliases`, "postmaster: root\n");
  await Deno.writeTextFile(
    conf,
    `table aliases db:${dir}/aliases.db
listen on 127.0.0.1 port 2 bogus
action "local" mbox alias <aliases>
match from local for local action "local"
`,
  );
  const err = capture();
  assertEquals(await runNewaliases(["-f", conf], { stderr: err.write }), 78);
  assertEquals(err.lines, [
    `${conf}:2:28: Unknown listen option "bogus"\nlisten on 127.0.0.1 port 2 bogus\n` +
    `${" ".repeat(27)}^`,
  ]);
  // $SMTPD_CONFIG naming it is the same configuration: no fall back to /etc/mail/aliases.
  const env = capture();
  const saved = Deno.env.get("SMTPD_CONFIG");
  Deno.env.set("SMTPD_CONFIG", conf);
  try {
    assertEquals(await runNewaliases([], { stderr: env.write }), 78);
  } finally {
    if (saved === undefined) Deno.env.delete("SMTPD_CONFIG");
    else Deno.env.set("SMTPD_CONFIG", saved);
  }
  assertEquals(env.lines, err.lines);
  assertEquals([...Deno.readDirSync(dir)].map((e) => e.name).sort(), ["aliases", "smtpd.conf"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("runNewaliases() reports an aliases file's bad lines as aliases errors", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/aliases`, "postmaster: root\nabuse\n");
  const err = capture();
  assertEquals(await runNewaliases(["-f", `${dir}/aliases`], { stderr: err.write }), 65);
  assertEquals(err.lines, [`newaliases: ${dir}/aliases:2: alias "abuse" has no value`]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("runMakemap() refuses an indented line that continues no entry, naming it", async () => {
  const dir = await Deno.makeTempDir();
  const err = capture();
  await Deno.writeTextFile(`${dir}/virtual`, "staff alice\n   bob\n");
  assertEquals(await runMakemap([`${dir}/virtual`], { stderr: err.write }), 65);
  assertEquals(err.lines, [
    `makemap: ${dir}/virtual:2: "bob" is indented as a continuation, but line 1 does not end in "," or ":"`,
  ]);
  await Deno.writeTextFile(`${dir}/virtual`, "staff alice,\n   bob\n");
  assertEquals(await runMakemap([`${dir}/virtual`]), 0);
  const table = DbTable.open("virtual", `${dir}/virtual.db`);
  assertEquals(table.lookup("alias", "staff"), "alice, bob");
  table.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("runMakemap() -t aliases reads a line as a file: table reads it", async () => {
  const dir = await Deno.makeTempDir();
  const text = [
    "# aliases",
    "staff alice, bob",
    "hashy: alice # trailing comment",
    "nocolon:carol",
    "team: alice,",
    "   bob",
    "inc: :include:/etc/mail/inc",
    "closed: error:550 5.7.1 closed for good",
    "",
  ].join("\n");
  await Deno.writeTextFile(`${dir}/aliases`, text);
  assertEquals(await runMakemap(["-t", "aliases", `${dir}/aliases`]), 0);
  const db = DbTable.open("aliases", `${dir}/aliases.db`);
  const file = parseTableFile("aliases", text);
  assertEquals([...db.keys()].sort(), [...file.keys()].sort());
  for (const key of file.keys()) {
    assertEquals(db.lookup("alias", key), file.lookup("alias", key), key);
  }
  assertEquals(db.lookup("alias", "hashy"), "alice");
  assertEquals(db.lookup("alias", "staff"), "alice, bob");
  db.close();
  await Deno.remove(dir, { recursive: true });
});
