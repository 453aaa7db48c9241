import { assertEquals } from "../../test/assert.ts";
import type { NewMessage } from "./envelope.ts";
import { releaseGoneLeases } from "./gone_holders.ts";
import { ownerName, parseOwner } from "./lease_holder.ts";
import { openQueue } from "./sqlite_store.ts";
import { underProcAccess } from "../../test/_all_permissions.ts";

function message(rcpts: string[]): NewMessage {
  return {
    sender: "a@client.test",
    helo: "client.test",
    src: "127.0.0.1",
    content: new TextEncoder().encode("Subject: held\r\n\r\nbody\r\n"),
    envelopes: rcpts.map((rcpt) => ({ rcpt, action: "local", user: "u" })),
  };
}

// Envelopes committed and claimed under `owner`, one of them failed (its report to queue).
async function holdUnder(dir: string, owner: string): Promise<void> {
  const queue = await openQueue(dir, { owner });
  await queue.commit(message(["kept@example.test", "failed@example.test"]));
  const claimed = queue.claimDue(Date.now() + 1, 10);
  await queue.markFailed(claimed.find((e) => e.rcpt === "failed@example.test")!, "no such user");
  queue.close();
}

Deno.test("releaseGoneLeases() frees what a killed process held, its reports included", async () => {
  if (
    !(await underProcAccess(
      import.meta.url,
      "releaseGoneLeases() frees what a killed process held, its reports included",
    ))
  ) return;
  const dir = await Deno.makeTempDir();
  const gone = new Deno.Command("true").spawn();
  await gone.status;
  await holdUnder(dir, `${Deno.hostname()}:${gone.pid}`);
  assertEquals(releaseGoneLeases(`${dir}/queue.sqlite`), 2);
  const queue = await openQueue(dir);
  assertEquals(queue.claimDue(Date.now() + 1, 10).map((e) => e.rcpt), ["kept@example.test"]);
  assertEquals(queue.claimReports(10).map((e) => [e.rcpt, e.state]), [
    ["failed@example.test", "failed"],
  ]);
  queue.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("releaseGoneLeases() frees the leases of a pid now another process's, keeps a running holder's", async () => {
  if (
    !(await underProcAccess(
      import.meta.url,
      "releaseGoneLeases() frees the leases of a pid now another process's, keeps a running holder's",
    ))
  ) return;
  const dir = await Deno.makeTempDir();
  const running = new Deno.Command("cat", { stdin: "piped", stdout: "null" }).spawn();
  try {
    // This process's pid, under a start long before its own: a holder whose pid it reused.
    // A machine up for less than 10 minutes gives start 0, still more than 3 s before ours.
    const mine = parseOwner(ownerName())!;
    await holdUnder(dir, `${mine.host}:${mine.pid}@${Math.max(0, mine.startedAt! - 600)}`);
    await holdUnder(dir, `${mine.host}:${running.pid}`);
    assertEquals(releaseGoneLeases(`${dir}/queue.sqlite`), mine.startedAt! > 3 ? 2 : 0);
    const queue = await openQueue(dir);
    assertEquals(queue.envelopes().filter((e) => e.leaseOwner !== undefined).length, 2);
    queue.close();
  } finally {
    await running.stdin.close();
    await running.status;
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("releaseGoneLeases() leaves a holder it cannot tell gone (no access to /proc)", async () => {
  if (
    !(await underProcAccess(
      import.meta.url,
      "releaseGoneLeases() leaves a holder it cannot tell gone (no access to /proc)",
    ))
  ) return;
  const dir = await Deno.makeTempDir();
  const gone = new Deno.Command("true").spawn();
  await gone.status;
  await holdUnder(dir, `${Deno.hostname()}:${gone.pid}`);
  // `deno eval` runs with every permission: the probe is a file run under narrow flags.
  const probe = `${dir}/probe.ts`;
  await Deno.writeTextFile(
    probe,
    `import { releaseGoneLeases } from "${new URL("./gone_holders.ts", import.meta.url).href}";
console.log(releaseGoneLeases(Deno.args[0]));`,
  );
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      `--allow-read=${dir}`,
      `--allow-write=${dir}`,
      "--allow-sys",
      probe,
      `${dir}/queue.sqlite`,
    ],
    stdout: "piped",
  }).output();
  assertEquals(new TextDecoder().decode(out.stdout).trim(), "0");
  assertEquals(releaseGoneLeases(`${dir}/queue.sqlite`), 2);
  await Deno.remove(dir, { recursive: true });
});
