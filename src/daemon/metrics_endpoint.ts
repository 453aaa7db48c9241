// The daemon's side of the metrics: deliveries timed and counted by method, queue commits
// timed, and the endpoint (`metrics listen on …`) serving the counters `show stats` reads.
// Under privilege separation this runs in the unprivileged front, which reads the network.

import type { Config } from "../config/mod.ts";
import type { DaemonStats } from "../control/mod.ts";
import type { Logger } from "../log/mod.ts";
import {
  type HistogramSet,
  type MetricsServer,
  renderMetrics,
  startMetricsServer,
} from "../metrics/mod.ts";
import type { DeliverFunction } from "../queue/mod.ts";
import { type ControlTarget, currentStats } from "./control_commands.ts";

/** Wraps `deliver`: each attempt's time goes to `delivery{method}`, its result to `delivery.METHOD.RESULT`. */
export function measuredDelivery(
  deliver: DeliverFunction,
  options: { config: Config; stats: DaemonStats; histograms: HistogramSet },
): DeliverFunction {
  const { stats, histograms } = options;
  const methods = new Map(options.config.actions.map((a) => [a.name, a.method.kind as string]));
  return async (envelope, content, context) => {
    const method = methods.get(envelope.action) ?? "unknown";
    const started = performance.now();
    try {
      const outcome = await deliver(envelope, content, context);
      stats.increment(`delivery.${method}.${outcome.kind}`);
      return outcome;
    } catch (error) {
      stats.increment(`delivery.${method}.error`);
      throw error;
    } finally {
      histograms.get("delivery", method).observe((performance.now() - started) / 1000);
    }
  };
}

/** Times `commit` (the end of DATA to the message being durable) into `queue.commit`. */
export function timedCommit<T, A extends unknown[]>(
  commit: (...args: A) => Promise<T>,
  histograms: HistogramSet,
): (...args: A) => Promise<T> {
  return async (...args) => {
    const started = performance.now();
    try {
      return await commit(...args);
    } finally {
      histograms.get("queue.commit").observe((performance.now() - started) / 1000);
    }
  };
}

/** Starts the endpoint when the configuration asks for one; its text is `show stats`'s numbers. */
export async function startMetricsEndpoint(
  config: Config,
  control: ControlTarget,
  histograms: HistogramSet,
  log: Logger,
): Promise<MetricsServer | undefined> {
  if (!config.metrics) return undefined;
  const server = await startMetricsServer({
    address: config.metrics.address,
    port: config.metrics.port,
    render: () => {
      const { uptime, ...counters } = currentStats(control);
      return renderMetrics(counters, histograms, uptime ?? 0);
    },
  });
  log.info(`smtpd: metrics on http://${hostPort(server.address, server.port)}/metrics`);
  return server;
}

function hostPort(address: string, port: number): string {
  return address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
}
