// A proc-exec filter that stops answering: the query fails after the timeout, the process
// is killed and started again, and the next process answers.

import { assertEquals, assertRejects, assertTrue } from "../../test/assert.ts";
import { waitFor } from "../../test/_helpers.ts";
import type { Logger } from "../log/mod.ts";
import type { FilterSessionView } from "./hook.ts";
import { startProcFilter } from "./proc_filter.ts";

// Registers rcpt-to; the first process never answers, every later one proceeds.
const SCRIPT = `
while read -r line; do [ "$line" = "config|ready" ] && break; done
echo "register|filter|smtp-in|rcpt-to"
echo "register|ready"
if [ ! -e "$MARK" ]; then : > "$MARK"; exec cat > /dev/null; fi
while IFS='|' read -r kind v ts sub phase session token rest; do
  echo "filter-result|$session|$token|proceed"
done
`;

const SESSION: FilterSessionView = {
  id: "0123456789abcdef",
  src: "127.0.0.1",
  fcrdns: false,
  rcptTo: [],
};

function alive(pid: number): boolean {
  try {
    Deno.kill(pid, "SIGCONT");
    return true;
  } catch {
    return false;
  }
}

Deno.test("a filter that leaves a query unanswered fails it after the timeout, is killed, and its restart answers", async () => {
  const dir = await Deno.makeTempDir({ prefix: "smtpd-proc-filter-" });
  await Deno.writeTextFile(`${dir}/filter.sh`, SCRIPT);
  const lines: string[] = [];
  const log: Logger = { info: (l) => lines.push(l), warn: (l) => lines.push(l), debug() {} };
  const filter = await startProcFilter({
    name: "slow",
    command: `env MARK=${dir}/answered /bin/sh ${dir}/filter.sh`,
    sessionTimeoutSeconds: 300,
    admd: "mx.example.test",
    queryTimeoutMs: 300,
    log,
  });
  try {
    const first = filter.pid!;
    const link = filter.open(SESSION);
    await assertRejects(
      () => link.query("rcpt-to", ["<alice@example.test>"]),
      Error,
      'filter "slow" did not answer',
    );
    assertTrue(lines.includes("filter slow: no answer in 300 ms; restarting it"), lines.join("\n"));
    await waitFor("the silent process to be gone", () => !alive(first) || undefined);
    const second = await waitFor("the filter to be up again", () => filter.pid);
    assertTrue(second !== first);
    // The session the silent process knew stays failed; a new one is answered.
    await assertRejects(() => link.query("rcpt-to", ["<bob@example.test>"]), Error, "not running");
    const answer = await filter.open({ ...SESSION, id: "fedcba9876543210" })
      .query("rcpt-to", ["<bob@example.test>"]);
    assertEquals(answer, { kind: "proceed" });
  } finally {
    await filter.close();
    await Deno.remove(dir, { recursive: true });
  }
});
