// ~/.forward through the real daemon, read back from the mailboxes: a user name in a
// .forward, entries that cannot be delivered (reported to the sender, never dropped),
// forwarding loops between users, and Delivered-To: loop detection at local delivery.
// As root, users are uid 4242 (deliveries run as them); otherwise the test's own uid.

import { assertEquals, assertStringIncludes } from "../assert.ts";
import {
  freePort,
  OWN_IDS,
  queueDrained,
  readMaildir,
  sendMessage,
  waitListening,
} from "../_helpers.ts";

const CLI = new URL("../../cli.ts", import.meta.url).pathname;
const AS_ROOT = Deno.uid() === 0;
const IDS = AS_ROOT ? "4242:4242" : OWN_IDS;
const USERS = ["alice", "bob", "carol", "dan", "erin", "frank", "sender"];
const FORWARDS: Record<string, string> = {
  // A user name alone, and a user name beside a copy of one's own and an address no rule
  // accepts.
  alice: "bob\n",
  carol: "bob, \\carol\nghost@nowhere.test\n",
  // Two users forwarding to each other, each keeping a copy.
  dan: "\\dan\nerin@md.test\n",
  erin: "\\erin\ndan@md.test\n",
};

interface Fixture {
  dir: string;
  port: number;
  stop(): Promise<void>;
}

async function startFixture(): Promise<Fixture> {
  const dir = await Deno.makeTempDir({ prefix: "smtpd-forward-" });
  await Deno.chmod(dir, 0o755);
  const port = freePort();
  for (const sub of ["home", "records", "bin"]) {
    await Deno.mkdir(`${dir}/${sub}`);
    await Deno.chmod(`${dir}/${sub}`, sub === "records" ? 0o1777 : 0o755);
  }
  for (const user of USERS) {
    await Deno.mkdir(`${dir}/home/${user}`, { mode: 0o755 });
    await Deno.chmod(`${dir}/home/${user}`, 0o755);
    const forward = FORWARDS[user];
    if (forward !== undefined) {
      await Deno.writeTextFile(`${dir}/home/${user}/.forward`, forward);
      await Deno.chmod(`${dir}/home/${user}/.forward`, 0o644);
    }
    if (AS_ROOT) {
      await new Deno.Command("chown", { args: ["-R", IDS, `${dir}/home/${user}`] }).output();
    }
  }
  // An mda that keeps what it is given.
  await Deno.writeTextFile(`${dir}/bin/record`, `#!/bin/sh\ncat > "${dir}/records/$1-$$"\n`);
  await Deno.chmod(`${dir}/bin/record`, 0o755);
  await Deno.writeTextFile(`${dir}/aliases`, "postmaster: sender\n");
  const users = USERS.map((u) => `${u} = "${IDS}:${dir}/home/${u}"`).join(", ");
  await Deno.writeTextFile(
    `${dir}/smtpd.conf`,
    `queue path "${dir}/queue"
listen on 127.0.0.1 port ${port}
table aliases file:${dir}/aliases
table users { ${users} }
action "md" maildir "${dir}/home/%{user.username}/Maildir" alias <aliases> userbase <users>
action "mda" mda "${dir}/bin/record %{user.username}" userbase <users>
match from any for domain "md.test" action "md"
match from any for domain "mda.test" action "mda"
`,
  );
  const daemon = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, "-d", "-u", "root", "-f", `${dir}/smtpd.conf`],
    stdout: "null",
    // SMTPD_TEST_LOG=1 shows the daemon's log while debugging a test.
    stderr: Deno.env.get("SMTPD_TEST_LOG") ? "inherit" : "null",
  }).spawn();
  await waitListening(port);
  return {
    dir,
    port,
    async stop() {
      daemon.kill("SIGTERM");
      await daemon.status;
      await Deno.remove(dir, { recursive: true });
    },
  };
}

function send(port: number, to: string, body: string) {
  return sendMessage(port, { from: "sender@md.test", to: [to], body });
}

async function subjects(f: Fixture, user: string): Promise<string[]> {
  return (await readMaildir(`${f.dir}/home/${user}/Maildir`))
    .map((m) => /^Subject: (.*)$/m.exec(m.text)?.[1] ?? "").sort();
}

async function reports(f: Fixture): Promise<string[]> {
  return (await readMaildir(`${f.dir}/home/sender/Maildir`)).map((m) => m.text);
}

Deno.test("forward: a user name in ~/.forward is a local user; what cannot go is reported", async () => {
  const f = await startFixture();
  try {
    await send(f.port, "alice@md.test", "Subject: to alice\n\nhello\n");
    await send(f.port, "carol@md.test", "Subject: to carol\n\nhello\n");
    await queueDrained(f.dir);
    assertEquals(await subjects(f, "bob"), ["to alice", "to carol"]);
    assertEquals(await subjects(f, "alice"), []);
    assertEquals(await subjects(f, "carol"), ["to carol"]);
    // carol's address no rule accepts comes back to the sender, with the reason.
    const [report, ...more] = await reports(f);
    assertEquals(more.length, 0);
    assertStringIncludes(report!, "Delivery status notification: failed");
    assertStringIncludes(report!, "no rule accepts the expanded address <ghost@nowhere.test>");
  } finally {
    await f.stop();
  }
});

Deno.test("forward: users forwarding to each other get one copy each, and no report", async () => {
  const f = await startFixture();
  try {
    await send(f.port, "dan@md.test", "Subject: round and round\n\nhello\n");
    await queueDrained(f.dir);
    assertEquals(await subjects(f, "dan"), ["round and round"]);
    assertEquals(await subjects(f, "erin"), ["round and round"]);
    assertEquals(await reports(f), []);
  } finally {
    await f.stop();
  }
});

Deno.test("delivery: a message already Delivered-To its address fails as a loop", async () => {
  const f = await startFixture();
  try {
    await send(f.port, "frank@md.test", "Delivered-To: Frank@MD.test\nSubject: came back\n\nx\n");
    await send(f.port, "frank@mda.test", "Delivered-To: frank@mda.test\nSubject: mda loop\n\nx\n");
    await send(f.port, "frank@md.test", "Delivered-To: other@md.test\nSubject: first time\n\nx\n");
    await queueDrained(f.dir);
    assertEquals(await subjects(f, "frank"), ["first time"]);
    assertEquals([...Deno.readDirSync(`${f.dir}/records`)].length, 0, "the mda never ran");
    const found = await reports(f);
    assertEquals(found.length, 2);
    for (const report of found) assertStringIncludes(report, "Loop detected");
  } finally {
    await f.stop();
  }
});
