// The exposition text: promtool accepts it, and every show stats key is in it with its value.

import { assertEquals, assertStringIncludes } from "../../test/assert.ts";
import { renderMetrics } from "./exposition.ts";
import { HistogramSet } from "./histogram.ts";
import { startMetricsServer } from "./server.ts";

const PROMTOOL = ["/opt/promtool/usr/bin/promtool", "/usr/bin/promtool"].find((p) => {
  try {
    return Deno.statSync(p).isFile;
  } catch {
    return false;
  }
});
if (!PROMTOOL) {
  console.log("promtool check skipped: promtool is not installed (.ci/install_ops_tools.sh)");
}

const SNAPSHOT = {
  "smtp.session": 1,
  "smtp.session.opened": 3,
  "smtp.session.listener.127.0.0.1:25": 3,
  "smtp.refused.RCPT.550": 2,
  "smtp.refused.other.500": 1,
  "smtp.auth.permfail": 1,
  "delivery.maildir.ok": 2,
  "mta.relay.tempfail": 1,
  "queue.envelope.queued": 4,
  "some.new.key": 7,
};

function histograms(): HistogramSet {
  const set = new HistogramSet();
  set.get("queue.commit").observe(0.004);
  set.get("queue.commit").observe(0.2);
  set.get("delivery", "maildir").observe(0.03);
  return set;
}

/** Runs `promtool check metrics` on the text; its output and status. */
export async function promtoolCheck(text: string): Promise<{ ok: boolean; output: string }> {
  const child = new Deno.Command(PROMTOOL!, {
    args: ["check", "metrics"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const out = await child.output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { ok: out.success, output: decode(out.stdout) + decode(out.stderr) };
}

Deno.test({
  name: "promtool check metrics accepts the exposition, lint included",
  ignore: !PROMTOOL,
  async fn() {
    const text = renderMetrics(SNAPSHOT, histograms(), 12);
    const check = await promtoolCheck(text);
    assertEquals(check, { ok: true, output: "" }, text);
    // promtool fails on a broken exposition: the check can fail.
    const broken = await promtoolCheck('# TYPE x counter\nx{a="1} 2\n');
    assertEquals(broken.ok, false);
  },
});

Deno.test("every show stats key is a sample with its value; histograms are cumulative", () => {
  const text = renderMetrics(SNAPSHOT, histograms(), 12);
  const lines = text.split("\n");
  for (
    const sample of [
      "smtpd_uptime_seconds 12",
      "smtpd_sessions_open 1",
      "smtpd_sessions_total 3",
      'smtpd_listener_sessions_total{listener="127.0.0.1:25"} 3',
      'smtpd_refused_total{command="RCPT",code="550"} 2',
      'smtpd_refused_total{command="other",code="500"} 1',
      'smtpd_authentications_total{result="permfail"} 1',
      'smtpd_deliveries_total{method="maildir",result="ok"} 2',
      'smtpd_relays_total{result="tempfail"} 1',
      'smtpd_queue_envelopes_by_state{state="queued"} 4',
      'smtpd_stat{name="some.new.key"} 7',
      'smtpd_queue_commit_seconds_bucket{le="0.005"} 1',
      'smtpd_queue_commit_seconds_bucket{le="0.25"} 2',
      'smtpd_queue_commit_seconds_bucket{le="+Inf"} 2',
      "smtpd_queue_commit_seconds_count 2",
      'smtpd_delivery_seconds_bucket{method="maildir",le="0.05"} 1',
    ]
  ) {
    assertEquals(lines.includes(sample), true, `${sample} in\n${text}`);
  }
  assertStringIncludes(text, "# TYPE smtpd_refused_total counter\n");
  assertStringIncludes(text, "# TYPE smtpd_queue_commit_seconds histogram\n");
});

Deno.test("the endpoint answers GET /metrics in the text format, and 404 elsewhere", async () => {
  const server = await startMetricsServer({
    address: "127.0.0.1",
    port: 0,
    render: () => renderMetrics({ "smtp.session.opened": 5 }, new HistogramSet(), 1),
  });
  try {
    const base = `http://127.0.0.1:${server.port}`;
    const response = await fetch(`${base}/metrics`);
    assertEquals(response.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
    assertStringIncludes(await response.text(), "\nsmtpd_sessions_total 5\n");
    const other = await fetch(`${base}/`);
    await other.body?.cancel();
    assertEquals(other.status, 404);
  } finally {
    await server.close();
  }
});
