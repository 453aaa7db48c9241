// The Prometheus text exposition format (version 0.0.4) of the daemon's counters: each
// `show stats` key becomes a named metric (labels for listeners, commands, results,
// states), so the endpoint and `smtpctl show stats` always show the same numbers.

import type { HistogramSet } from "./histogram.ts";

/** A counter key's metric: its name, type, help and labels. */
interface MetricOf {
  readonly name: string;
  readonly type: "counter" | "gauge";
  readonly help: string;
  readonly labels?: Readonly<Record<string, string>>;
}

// Keys of `show stats` (OpenSMTPD's names where OpenSMTPD has them), by pattern.
const KEYS: readonly [RegExp, (m: RegExpExecArray) => MetricOf][] = [
  [/^smtp\.session$/, () => gauge("smtpd_sessions_open", "SMTP sessions open now")],
  [/^smtp\.session\.opened$/, () => counter("smtpd_sessions_total", "SMTP sessions opened")],
  [/^smtp\.session\.closed$/, () => counter("smtpd_sessions_closed_total", "SMTP sessions ended")],
  [
    /^smtp\.session\.listener\.(.+)$/,
    (m) =>
      counter("smtpd_listener_sessions_total", "SMTP sessions opened, by listener", {
        listener: m[1]!,
      }),
  ],
  [/^smtp\.tls$/, () => counter("smtpd_tls_sessions_total", "SMTP sessions that started TLS")],
  [
    /^smtp\.auth\.(\w+)$/,
    (m) =>
      counter(
        "smtpd_authentications_total",
        "AUTH attempts, by result (permfail: a wrong password)",
        {
          result: m[1]!,
        },
      ),
  ],
  [
    /^smtp\.refused\.(\w+)\.(\d{3})$/,
    (m) =>
      counter("smtpd_refused_total", "Commands answered 4xx or 5xx, by command and reply code", {
        command: m[1]!,
        code: m[2]!,
      }),
  ],
  [
    /^smtp\.message\.accepted$/,
    () => counter("smtpd_messages_accepted_total", "Messages queued (answered 250 after DATA)"),
  ],
  [
    /^smtp\.message\.bytes$/,
    () => counter("smtpd_message_bytes_total", "Bytes of the messages queued"),
  ],
  [
    /^smtp\.envelope\.accepted$/,
    () => counter("smtpd_envelopes_accepted_total", "Envelopes (recipients) queued from SMTP"),
  ],
  [/^queue\.message$/, () => gauge("smtpd_queue_messages", "Messages in the queue")],
  [/^scheduler\.envelope$/, () => gauge("smtpd_queue_envelopes", "Envelopes in the queue")],
  [
    /^queue\.envelope\.(\w+)$/,
    (m) =>
      gauge("smtpd_queue_envelopes_by_state", "Envelopes in the queue, by state", {
        state: m[1]!,
      }),
  ],
  [
    /^scheduler\.envelope\.(\w+)$/,
    (m) =>
      counter("smtpd_scheduler_envelopes_total", "Envelopes the scheduler saw, by event", {
        event: m[1]!,
      }),
  ],
  [
    /^scheduler\.delivery\.(\w+)$/,
    (m) =>
      counter("smtpd_scheduler_deliveries_total", "Delivery attempts, by result", {
        result: m[1]!,
      }),
  ],
  [
    /^delivery\.(\w+)\.(\w+)$/,
    (m) =>
      counter("smtpd_deliveries_total", "Delivery attempts, by method and result", {
        method: m[1]!,
        result: m[2]!,
      }),
  ],
  [
    /^mta\.relay\.(\w+)$/,
    (m) =>
      counter("smtpd_relays_total", "Envelopes relayed to another server, by result", {
        result: m[1]!,
      }),
  ],
];

const HISTOGRAMS: Readonly<Record<string, { name: string; help: string; label?: string }>> = {
  "queue.commit": {
    name: "smtpd_queue_commit_seconds",
    help: "Time from the end of DATA to the message being durable in the queue",
  },
  delivery: {
    name: "smtpd_delivery_seconds",
    help: "Time one delivery attempt took, by method",
    label: "method",
  },
};

/** The exposition text of a counters snapshot, the uptime and the histograms. */
export function renderMetrics(
  snapshot: Readonly<Record<string, number>>,
  histograms: HistogramSet,
  uptimeSeconds: number,
): string {
  const families = new Map<string, { type: string; help: string; samples: string[] }>();
  const family = (name: string, type: string, help: string) => {
    let f = families.get(name);
    if (!f) families.set(name, f = { type, help, samples: [] });
    return f;
  };
  family("smtpd_uptime_seconds", "gauge", "Seconds since the daemon started").samples.push(
    `smtpd_uptime_seconds ${uptimeSeconds}`,
  );
  for (const [key, value] of Object.entries(snapshot)) {
    const metric = metricOf(key);
    family(metric.name, metric.type, metric.help).samples.push(
      `${metric.name}${labelText(metric.labels)} ${value}`,
    );
  }
  for (const { name, label, state } of histograms.snapshot()) {
    const spec = HISTOGRAMS[name];
    if (!spec) continue;
    const labels = spec.label ? { [spec.label]: label } : {};
    const f = family(spec.name, "histogram", spec.help);
    state.bounds.forEach((bound, i) =>
      f.samples.push(
        `${spec.name}_bucket${labelText({ ...labels, le: String(bound) })} ${state.cumulative[i]}`,
      )
    );
    f.samples.push(`${spec.name}_bucket${labelText({ ...labels, le: "+Inf" })} ${state.count}`);
    f.samples.push(`${spec.name}_sum${labelText(labels)} ${state.sum}`);
    f.samples.push(`${spec.name}_count${labelText(labels)} ${state.count}`);
  }
  const out: string[] = [];
  for (const [name, f] of [...families].sort(([a], [b]) => a < b ? -1 : 1)) {
    out.push(`# HELP ${name} ${f.help}.`, `# TYPE ${name} ${f.type}`, ...f.samples);
  }
  return out.join("\n") + "\n";
}

/** The metric a `show stats` key is exposed as; a key without its own name keeps it as a label. */
export function metricOf(key: string): MetricOf {
  for (const [pattern, make] of KEYS) {
    const match = pattern.exec(key);
    if (match) return make(match);
  }
  return gauge("smtpd_stat", "A show stats counter without a metric name of its own", {
    name: key,
  });
}

function counter(name: string, help: string, labels?: Record<string, string>): MetricOf {
  return { name, type: "counter", help: `${help} (show stats)`, ...(labels ? { labels } : {}) };
}

function gauge(name: string, help: string, labels?: Record<string, string>): MetricOf {
  return { name, type: "gauge", help: `${help} (show stats)`, ...(labels ? { labels } : {}) };
}

// Label values are escaped as the format says: backslash, double quote, line feed.
function labelText(labels: Readonly<Record<string, string>> | undefined): string {
  const entries = Object.entries(labels ?? {});
  if (entries.length === 0) return "";
  const escape = (v: string) =>
    v.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
  return `{${entries.map(([k, v]) => `${k}="${escape(v)}"`).join(",")}}`;
}
