import { assertEquals, assertTrue } from "../../test/assert.ts";
import { isoNow } from "./logger.ts";

const BURST = new URL("../../test/fixtures/log_burst.ts", import.meta.url).pathname;

// The parent and the SMTP front write their log lines to one standard error (a pipe, under
// systemd or a test): every line must come out whole, never cut by the other's write.
Deno.test("two processes logging to one pipe at once: every line comes out whole", async () => {
  const count = 5000;
  const run = (name: string) =>
    `${JSON.stringify(Deno.execPath())} run --quiet --allow-read ${BURST} ${name} ${count}`;
  const shell = new Deno.Command("bash", {
    args: ["-c", `{ ${run("a")} & ${run("b")} & wait; } 2>&1 | cat`],
    stdout: "piped",
    stderr: "inherit",
  });
  const output = new TextDecoder().decode((await shell.output()).stdout);
  const lines = output.split("\n").filter((line) => line !== "");
  const whole = /^\d{4}-\d\d-\d\dT[\d:.]+Z info: ([ab]) (\d+) x{260}$/;
  const seen = { a: 0, b: 0 };
  const torn: string[] = [];
  for (const line of lines) {
    const match = whole.exec(line);
    if (!match) torn.push(line.slice(0, 80));
    else seen[match[1] as "a" | "b"]++;
  }
  assertEquals(torn.slice(0, 3), [], `${torn.length} lines were cut by the other process`);
  assertEquals(seen, { a: count, b: count });
});

Deno.test("isoNow() is the time now in ISO 8601, a new string once the millisecond is past", async () => {
  const before = Date.now();
  const first = isoNow();
  const after = Date.now();
  const at = Date.parse(first);
  assertTrue(before <= at && at <= after, `${first} is not between ${before} and ${after}`);
  assertEquals(first, new Date(at).toISOString());
  while (Date.now() === at) await new Promise((r) => setTimeout(r, 1));
  const later = isoNow();
  assertTrue(Date.parse(later) > at, `${later} is not later than ${first}`);
});
