// Reading the queue key from standard input as a daemon start does, in a child process.

import { assertEquals } from "../../test/assert.ts";

const MODULE = new URL("./queue_key_input.ts", import.meta.url).href;

// A process that reads the key, then whatever is left of its standard input.
async function readKeyThenRest(input: string, env: Record<string, string> = {}) {
  const script = `import { readQueueKeyInput } from ${JSON.stringify(MODULE)};
const key = await readQueueKeyInput().catch((e) => "error: " + e.message);
const rest = await new Response(Deno.stdin.readable).text();
console.log(JSON.stringify({ key, rest }));`;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", script],
    env: { SMTPD_QUEUE_KEY: "", ...env },
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(input));
  await writer.close();
  const out = await child.output();
  return JSON.parse(new TextDecoder().decode(out.stdout)) as { key: string; rest: string };
}

Deno.test("readQueueKeyInput() takes one line of a pipe and leaves the rest unread", async () => {
  assertEquals(await readKeyThenRest("the-key\nthe message\n"), {
    key: "the-key",
    rest: "the message\n",
  });
  assertEquals(await readKeyThenRest("last-line-without-newline"), {
    key: "last-line-without-newline",
    rest: "",
  });
});

Deno.test("readQueueKeyInput() prefers $SMTPD_QUEUE_KEY, and refuses an empty line", async () => {
  assertEquals(await readKeyThenRest("unread\n", { SMTPD_QUEUE_KEY: "from-env" }), {
    key: "from-env",
    rest: "unread\n",
  });
  assertEquals(
    (await readKeyThenRest("\nkey\n")).key,
    "error: queue encryption: no key on standard input",
  );
  assertEquals(
    (await readKeyThenRest("")).key,
    "error: queue encryption: no key on standard input",
  );
});
