/**
 * The metrics endpoint (an extension, `metrics listen on ADDRESS port N`): the daemon's
 * counters — the ones `smtpctl show stats` prints — and its latency histograms in the
 * Prometheus text format, over HTTP; and what the log's events add to those counters.
 *
 * @module
 */
export { countEvent } from "./event_counts.ts";
export type { Counters } from "./event_counts.ts";
export { metricOf, renderMetrics } from "./exposition.ts";
export { Histogram, HistogramSet, LATENCY_BUCKETS } from "./histogram.ts";
export type { HistogramSnapshot } from "./histogram.ts";
export { METRICS_CONTENT_TYPE, startMetricsServer } from "./server.ts";
export type { MetricsServer, MetricsServerOptions } from "./server.ts";
