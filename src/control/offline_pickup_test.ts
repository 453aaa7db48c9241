// startOfflinePickup(): files there at start and files that appear later are handed over
// with their owner's uid and removed; a tempfail keeps the file; a file that is not an
// offline file, or that is refused, is moved aside with a log line; a drop left unfinished
// for a day is removed.

import { assertEquals, assertMatch, assertTrue } from "../../test/assert.ts";
import { waitFor } from "../../test/_helpers.ts";
import { createLogger } from "../log/mod.ts";
import { dropOffline } from "./offline_file.ts";
import { startOfflinePickup } from "./offline_pickup.ts";
import type { LocalSubmission } from "./submission.ts";

const SUBMISSION = { recipients: ["a@example.test"], extractRecipients: false, ignoreDots: false };

Deno.test("startOfflinePickup() queues what is there and what appears, keeps a tempfail, moves the rest aside", async () => {
  const root = await Deno.makeTempDir();
  const dir = `${root}/offline`;
  await Deno.mkdir(dir);
  const lines: string[] = [];
  const seen: { input: string; uid: number }[] = [];
  await dropOffline(dir, { submission: SUBMISSION, input: new TextEncoder().encode("early\n") });
  await Deno.writeTextFile(`${dir}/junk`, "not an offline file\n");
  // A drop a killed sendmail never finished, a day old, and one being written now.
  await Deno.writeTextFile(`${dir}/.tmp-old`, "smtpd-offline 1\n");
  await Deno.utime(`${dir}/.tmp-old`, new Date(0), new Date(Date.now() - 25 * 3600_000));
  await Deno.writeTextFile(`${dir}/.tmp-new`, "smtpd-offline 1\n");
  const pickup = startOfflinePickup({
    dir,
    asideDir: `${root}/aside`,
    maxBytes: 1024,
    log: createLogger({ sink: (line) => lines.push(line) }),
    submit: (request: { submission: LocalSubmission; input: Uint8Array; uid: number }) => {
      const input = new TextDecoder().decode(request.input);
      if (input === "busy\n") return Promise.resolve({ exit: 75, error: "queue busy" });
      if (input === "refused\n") return Promise.resolve({ exit: 67, error: "<a>: refused" });
      seen.push({ input, uid: request.uid });
      return Promise.resolve({ exit: 0, msgid: "0000abcd" });
    },
  });
  try {
    await pickup.started;
    assertEquals(seen, [{ input: "early\n", uid: Deno.uid() }]);
    assertTrue(Deno.statSync(`${root}/aside/junk`).isFile);
    const text = (s: string) => new TextEncoder().encode(s);
    const busy = await dropOffline(dir, { submission: SUBMISSION, input: text("busy\n") });
    await dropOffline(dir, { submission: SUBMISSION, input: text("refused\n") });
    await dropOffline(dir, { submission: SUBMISSION, input: text("late\n") });
    await waitFor("the late file", () => seen.length === 2 ? true : undefined);
    await waitFor("the refused file moved aside", () => {
      const aside = [...Deno.readDirSync(`${root}/aside`)];
      return aside.length === 2 ? true : undefined;
    });
    assertEquals(seen[1], { input: "late\n", uid: Deno.uid() });
    assertEquals(
      [...Deno.readDirSync(dir)].map((e) => e.name).sort(),
      [".tmp-new", busy],
      "the tempfail and the file being written wait; the stale one is gone",
    );
    const log = lines.join("");
    assertMatch(log, /offline: junk from uid \d+: not an offline file: [^\n]+; moved to /);
    assertMatch(log, /from uid \d+: <a>: refused; moved to /);
    assertMatch(log, /: queue busy; kept for the next scan/);
    assertMatch(log, /offline: \.tmp-old from uid \d+ unfinished for a day: removed/);
  } finally {
    await pickup.close();
    await Deno.remove(root, { recursive: true });
  }
});
