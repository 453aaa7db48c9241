// Tests for mbox delivery against real files: what another mail reader (Python's `mailbox`)
// sees, how the dot-lock and flock hold a delivery back, and that a failed write leaves the
// mailbox as it was.

import {
  assertEquals,
  assertMatch,
  assertRejects,
  assertStringIncludes,
  assertTrue,
} from "../../test/assert.ts";
import { deliverToMbox, formatMboxEntry, type MboxDelivery } from "./mbox.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const fixedNow = new Date(Date.UTC(2026, 10, 25, 5, 38, 26));

/** A stored message: CRLF line ends, as the queue keeps it. */
function message(subject: string, body: string[]): Uint8Array {
  const lines = ["From: Alice <alice@example.org>", `Subject: ${subject}`, "", ...body];
  return encoder.encode(lines.join("\r\n") + "\r\n");
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "mbox_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

// Reads the mailbox the way an independent mail program does, so the format is checked
// against a real parser rather than against our own idea of it.
const pythonReader = `
import json, mailbox, sys
box = mailbox.mbox(sys.argv[1], create=False)
print(json.dumps([
    {"from_": m.get_from(), "subject": m["Subject"], "delivered_to": m["Delivered-To"],
     "return_path": m["Return-Path"], "body": m.get_payload()}
    for m in box
]))
`;

interface ParsedMessage {
  from_: string;
  subject: string;
  delivered_to: string;
  return_path: string;
  body: string;
}

async function parseWithPython(path: string): Promise<ParsedMessage[]> {
  const output = await new Deno.Command("python3", { args: ["-c", pythonReader, path] }).output();
  assertEquals(output.code, 0, decoder.decode(output.stderr));
  return JSON.parse(decoder.decode(output.stdout));
}

Deno.test("deliverToMbox: two messages read back by Python's mailbox module", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/alice`;
    const delivery = { sender: "bob@example.net", deliveredTo: "alice@example.org" };
    await deliverToMbox(path, message("first", ["Hello,", "From here on", "bye"]), {
      ...delivery,
      now: fixedNow,
    });
    await deliverToMbox(path, message("second", ["Second body"]), delivery);

    const parsed = await parseWithPython(path);
    assertEquals(parsed.length, 2);
    assertEquals(parsed.map((m) => m.subject), ["first", "second"]);
    assertEquals(parsed[0]?.body, "Hello,\n>From here on\nbye\n");
    assertEquals(parsed[1]?.body, "Second body\n");
    assertEquals(parsed[0]?.delivered_to, "alice@example.org");
    assertEquals(parsed[0]?.return_path, "<bob@example.net>");
    assertEquals(parsed[0]?.from_, "bob@example.net Wed Nov 25 05:38:26 2026");

    const raw = await Deno.readTextFile(path);
    assertTrue(!raw.includes("\r"), "line ends are LF");
    assertTrue(raw.includes("\n>From here on\n"), "body From_ line is quoted");
    assertMatch(raw, /^From bob@example\.net Wed Nov 25 05:38:26 2026\n/);
    assertTrue(raw.endsWith("Second body\n\n"), "each message ends with one blank line");
    assertTrue(raw.includes("bye\n\nFrom bob@example.net "), "one blank line between messages");
    assertEquals((await Deno.stat(path)).mode! & 0o777, 0o600);
  });
});

Deno.test("deliverToMbox: the null sender is MAILER-DAEMON in the From_ line", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/bounces`;
    await deliverToMbox(path, message("bounce", ["Undeliverable"]), {
      sender: "",
      deliveredTo: "postmaster@example.org",
      now: fixedNow,
    });
    const raw = await Deno.readTextFile(path);
    assertEquals(raw.split("\n").slice(0, 3), [
      "From MAILER-DAEMON Wed Nov 25 05:38:26 2026",
      "Return-Path: <>",
      "Delivered-To: postmaster@example.org",
    ]);
    const parsed = await parseWithPython(path);
    assertEquals(parsed.map((m) => m.subject), ["bounce"]);
  });
});

Deno.test("formatMboxEntry: mboxrd quoting of header and body lines", () => {
  const content = encoder.encode(
    "From nobody\r\nSubject: q\r\n\r\nFrom a\r\n>From b\r\n>>From c\r\nFromage\r\n> From d",
  );
  const entry = formatMboxEntry(content, {
    sender: "s@example.org",
    deliveredTo: "r@example.org",
    now: fixedNow,
  });
  assertEquals(
    decoder.decode(entry),
    [
      "From s@example.org Wed Nov 25 05:38:26 2026",
      "Return-Path: <s@example.org>",
      "Delivered-To: r@example.org",
      ">From nobody",
      "Subject: q",
      "",
      ">From a",
      ">>From b",
      ">>>From c",
      "Fromage",
      "> From d",
      "",
      "",
    ].join("\n"),
  );
});

// Every byte value from 0x80 up, on a line that also needs quoting and one that does not:
// 8-bit mail (BODY=8BITMIME) is no UTF-8 text, and must land byte for byte.
const EIGHT_BIT = Uint8Array.from({ length: 128 }, (_, i) => 0x80 + i);
const eightBitMessage = concat(
  encoder.encode("Subject: caf"),
  Uint8Array.of(0xe9),
  encoder.encode("\r\n\r\nFrom "),
  EIGHT_BIT,
  encoder.encode("\r\n"),
  EIGHT_BIT,
  encoder.encode("\r\n"),
);

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}

Deno.test("deliverToMbox: 8-bit mail lands byte for byte, in a mailbox and a /file", async () => {
  await withTempDir(async (dir) => {
    const cases: [string, MboxDelivery, string][] = [
      [
        "mailbox",
        { sender: "s@example.org", deliveredTo: "r@example.org", now: fixedNow },
        "Delivered-To: r@example.org\n",
      ],
      // A `/file` target is appended the same way, without Delivered-To.
      ["file", { sender: "s@example.org", now: fixedNow }, ""],
    ];
    for (const [name, delivery, deliveredTo] of cases) {
      await deliverToMbox(`${dir}/${name}`, eightBitMessage, delivery);
      const expected = concat(
        encoder.encode(
          `From s@example.org Wed Nov 25 05:38:26 2026\nReturn-Path: <s@example.org>\n` +
            `${deliveredTo}Subject: caf`,
        ),
        Uint8Array.of(0xe9),
        encoder.encode("\n\n>From "),
        EIGHT_BIT,
        encoder.encode("\n"),
        EIGHT_BIT,
        encoder.encode("\n\n"),
      );
      assertEquals(await Deno.readFile(`${dir}/${name}`), expected, name);
    }
  });
});

Deno.test("deliverToMbox: waits for another program's dot-lock", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/alice`;
    const lockPath = `${path}.lock`;
    await Deno.writeTextFile(lockPath, "");

    let removedAt = 0;
    const removal = new Promise<void>((resolve) =>
      setTimeout(async () => {
        removedAt = Date.now();
        await Deno.remove(lockPath);
        resolve();
      }, 300)
    );
    const started = Date.now();
    await deliverToMbox(path, message("locked", ["body"]), {
      sender: "bob@example.net",
      deliveredTo: "alice@example.org",
    });
    const finished = Date.now();
    await removal;

    assertTrue(removedAt > 0 && finished >= removedAt, "delivery waited for the lock to go");
    assertTrue(finished - started < 5_000, "delivery went on soon after the lock went");
    assertEquals((await parseWithPython(path)).map((m) => m.subject), ["locked"]);
    assertEquals(await exists(lockPath), false);
  });
});

Deno.test("deliverToMbox: gives up on a lock that is held too long", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/alice`;
    await Deno.writeTextFile(`${path}.lock`, "");
    await assertRejects(
      () =>
        deliverToMbox(path, message("never", ["body"]), {
          sender: "bob@example.net",
          deliveredTo: "alice@example.org",
          lockTimeoutMs: 250,
        }),
      Error,
      "locked",
    );
    assertEquals(await exists(path), false);
    assertEquals(await exists(`${path}.lock`), true, "someone else's lock is left alone");
  });
});

Deno.test("deliverToMbox: a stale dot-lock is taken over", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/alice`;
    const lockPath = `${path}.lock`;
    await Deno.writeTextFile(lockPath, "");
    const tenMinutesAgo = new Date(Date.now() - 10 * 60 * 1000);
    await Deno.utime(lockPath, tenMinutesAgo, tenMinutesAgo);

    await deliverToMbox(path, message("stale", ["body"]), {
      sender: "bob@example.net",
      deliveredTo: "alice@example.org",
      lockTimeoutMs: 250,
    });
    assertEquals((await parseWithPython(path)).map((m) => m.subject), ["stale"]);
    assertEquals(await exists(lockPath), false);
  });
});

Deno.test("deliverToMbox: waits for an flock held on the mailbox", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/alice`;
    await deliverToMbox(path, message("first", ["body"]), {
      sender: "bob@example.net",
      deliveredTo: "alice@example.org",
    });
    const sizeBefore = (await Deno.stat(path)).size;

    // flock(2) locks belong to the open file, so a second open in this process conflicts.
    const holder = await Deno.open(path, { read: true });
    await holder.lock(true);
    let done = false;
    const delivering = deliverToMbox(path, message("second", ["body"]), {
      sender: "bob@example.net",
      deliveredTo: "alice@example.org",
    }).then(() => {
      done = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    assertEquals(done, false, "delivery waits while the mailbox is flocked");
    assertEquals((await Deno.stat(path)).size, sizeBefore);

    await holder.unlock();
    holder.close();
    await delivering;
    assertEquals((await parseWithPython(path)).map((m) => m.subject), ["first", "second"]);
  });
});

Deno.test("deliverToMbox: the file grows by exactly the entry and no lock is left", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/alice`;
    const delivery: MboxDelivery = {
      sender: "bob@example.net",
      deliveredTo: "alice@example.org",
      now: fixedNow,
    };
    await deliverToMbox(path, message("first", ["one"]), delivery);
    const sizeBefore = (await Deno.stat(path)).size;

    const content = message("second", ["two", "From three"]);
    await deliverToMbox(path, content, delivery);

    const entry = formatMboxEntry(content, delivery);
    assertEquals((await Deno.stat(path)).size, sizeBefore + entry.byteLength);
    assertEquals(await exists(`${path}.lock`), false);
  });
});

// A write that fails partway is made real with a file size limit (`ulimit -f`, SIGXFSZ
// ignored so write(2) fails with EFBIG) in a child Deno process.
Deno.test("deliverToMbox: a write that fails partway is rolled back", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/alice`;
    const original = "x".repeat(1000);
    await Deno.writeTextFile(path, original);

    const script = `${dir}/deliver_big.ts`;
    const moduleUrl = new URL("./mbox.ts", import.meta.url).href;
    await Deno.writeTextFile(
      script,
      `import { deliverToMbox } from ${JSON.stringify(moduleUrl)};\n` +
        `await deliverToMbox(Deno.args[0], new Uint8Array(64 * 1024).fill(65), ` +
        `{ sender: "bob@example.net", deliveredTo: "alice@example.org" });\n`,
    );
    // 4 blocks of 1 KiB: the first write gets partly through, the next one fails.
    const shell = `trap '' XFSZ; ulimit -f 4; exec "$0" run --no-config --no-lock ` +
      `--allow-read --allow-write --allow-sys=uid "$1" "$2"`;
    const output = await new Deno.Command("bash", {
      args: ["-c", shell, Deno.execPath(), script, path],
      cwd: dir,
    }).output();

    const stderr = decoder.decode(output.stderr);
    assertTrue(output.code !== 0, "the delivery failed");
    assertMatch(stderr, /File too large/);
    assertEquals(await Deno.readTextFile(path), original);
    assertEquals(await exists(`${path}.lock`), false);
  });
});

Deno.test("deliverToMbox: a /file target is appended to wherever its name leads", async () => {
  // Named by the administrator or the user, as OpenSMTPD's mail.mboxfile opens it: the
  // spool's checks (no link, one name, own file) are for mailboxes others could plant.
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/archive`, "");
    await Deno.symlink(`${dir}/archive`, `${dir}/link`);
    const message = new TextEncoder().encode("Subject: kept\r\n\r\nbody\r\n");
    await deliverToMbox(`${dir}/link`, message, { sender: "a@example.test", namedFile: true });
    assertStringIncludes(await Deno.readTextFile(`${dir}/archive`), "Subject: kept\n");
    // The same link as a mailbox is refused, and nothing is written through it.
    await assertRejects(
      () => deliverToMbox(`${dir}/link`, message, { sender: "a@example.test" }),
      Error,
      "it is a symbolic link",
    );
    assertEquals((await Deno.readTextFile(`${dir}/archive`)).split("Subject: kept").length, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// A writer killed in the middle of an append, for real: a file size limit without SIGXFSZ
// ignored kills the child Deno at the limit, leaving half a message and its dot-lock. The
// script is compiled first and without a code cache, so the limit meets only the mailbox.
async function deliverAndDieMidway(dir: string, path: string, content: Uint8Array) {
  const script = `${dir}/deliver_and_die.ts`;
  const moduleUrl = new URL("./mbox.ts", import.meta.url).href;
  await Deno.writeFile(`${dir}/message`, content);
  await Deno.writeTextFile(
    script,
    `import { deliverToMbox } from ${JSON.stringify(moduleUrl)};\n` +
      `await deliverToMbox(Deno.args[0], await Deno.readFile(Deno.args[1]), ` +
      `{ sender: "bob@example.net", deliveredTo: "alice@example.org" });\n`,
  );
  await new Deno.Command(Deno.execPath(), {
    args: ["cache", "--no-config", "--no-lock", script],
    stderr: "null",
  }).output();
  const shell = `ulimit -f 16; exec "$0" run --no-config --no-lock --no-code-cache ` +
    `--allow-read --allow-write --allow-sys=uid "$1" "$2" "$3"`;
  const output = await new Deno.Command("bash", {
    args: ["-c", shell, Deno.execPath(), script, path, `${dir}/message`],
    cwd: dir,
  }).output();
  assertEquals(output.signal, "SIGXFSZ", decoder.decode(output.stderr));
}

Deno.test("deliverToMbox: a writer killed mid-append is cut back by the next one", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/alice`;
    const delivery = { sender: "bob@example.net", deliveredTo: "alice@example.org" };
    await deliverToMbox(path, message("first", ["one"]), delivery);
    const sizeBefore = (await Deno.stat(path)).size;
    const big = message(
      "second",
      Array.from({ length: 2000 }, (_, i) => `line ${i} ${"x".repeat(60)}`),
    );

    await deliverAndDieMidway(dir, path, big);
    assertTrue((await Deno.stat(path)).size > sizeBefore, "half the message was written");
    const [, recordedSize] = (await Deno.readTextFile(`${path}.lock`)).split(" ");
    assertEquals(Number(recordedSize), sizeBefore, "the lock holds the size before the append");

    // The retry: at once, not five minutes later, since the lock's writer is gone.
    await deliverToMbox(path, big, { ...delivery, lockTimeoutMs: 2_000 });
    const parsed = await parseWithPython(path);
    assertEquals(parsed.map((m) => m.subject), ["first", "second"]);
    assertTrue(parsed[1]!.body.endsWith(`line 1999 ${"x".repeat(60)}\n`), "the message is whole");
    const entry = formatMboxEntry(big, delivery);
    assertEquals((await Deno.stat(path)).size - sizeBefore, entry.byteLength);
    assertEquals(await exists(`${path}.lock`), false);
  });
});

Deno.test("deliverToMbox: a mailbox cut short gets its missing line end and blank line first", async () => {
  for (const tail of ["xxxx", "xxxx\n"]) {
    await withTempDir(async (dir) => {
      const path = `${dir}/alice`;
      const cut = `From carol@example.net Wed Nov 25 05:38:26 2026\nSubject: cut\n\n${tail}`;
      await Deno.writeTextFile(path, cut);
      await deliverToMbox(path, message("next", ["body"]), {
        sender: "bob@example.net",
        now: fixedNow,
      });
      const text = await Deno.readTextFile(path);
      assertTrue(
        text.startsWith(
          "From carol@example.net Wed Nov 25 05:38:26 2026\nSubject: cut\n\nxxxx\n\n" +
            "From bob@example.net Wed Nov 25 05:38:26 2026\n",
        ),
        JSON.stringify(text.slice(0, 120)),
      );
      assertEquals((await parseWithPython(path)).map((m) => m.subject), ["cut", "next"]);
    });
  }
});

Deno.test("deliverToMbox: an old lock's record for another file cuts nothing back", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/alice`;
    const cut = "From carol@example.net Wed Nov 25 05:38:26 2026\nSubject: cut\n\nxxxx";
    await Deno.writeTextFile(path, cut);
    await Deno.writeTextFile(`${dir}/other`, "");
    const otherIno = (await Deno.stat(`${dir}/other`)).ino;
    await Deno.writeTextFile(`${path}.lock`, `12345 0 ${otherIno}\n`);
    const tenMinutesAgo = new Date(Date.now() - 10 * 60 * 1000);
    await Deno.utime(`${path}.lock`, tenMinutesAgo, tenMinutesAgo);

    await deliverToMbox(path, message("next", ["body"]), {
      sender: "bob@example.net",
      lockTimeoutMs: 2_000,
    });
    assertEquals((await parseWithPython(path)).map((m) => m.subject), ["cut", "next"]);
    assertEquals(await exists(`${path}.lock`), false);
  });
});

Deno.test("deliverToMbox: a recorded lock whose writer holds the flock is waited for", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/alice`;
    const cut = "From carol@example.net Wed Nov 25 05:38:26 2026\nSubject: cut\n\nxxxx";
    await Deno.writeTextFile(path, cut);
    await Deno.writeTextFile(`${path}.lock`, `12345 0 ${(await Deno.stat(path)).ino}\n`);
    // The writer, alive and appending: it holds the mailbox's flock.
    const writer = await Deno.open(path, { read: true });
    await writer.lock(true);
    try {
      await assertRejects(
        () =>
          deliverToMbox(path, message("next", ["body"]), {
            sender: "bob@example.net",
            lockTimeoutMs: 250,
          }),
        Error,
        "locked",
      );
      assertEquals(await Deno.readTextFile(path), cut);
    } finally {
      writer.close();
    }
  });
});
