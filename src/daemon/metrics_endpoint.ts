// The daemon's side of the metrics: deliveries timed and counted by method, queue commits
// timed, and the endpoint (`metrics listen on …`) serving the counters `show stats` reads,
// which a reload may move, close or open.
// Under privilege separation this runs in the unprivileged front, which reads the network.

import type { Config, MetricsEndpoint } from "../config/mod.ts";
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

/** A change a reload prepared: taken with the rest of the reload, or undone with it. */
export interface PreparedChange {
  commit(): Promise<void>;
  abandon(): Promise<void>;
}

const NO_CHANGE: PreparedChange = { commit: async () => {}, abandon: async () => {} };

/**
 * The endpoint `metrics listen on …` asks for, moved, closed or opened by a reload; the
 * counters it serves are the daemon's and outlive it.
 */
export class MetricsEndpointSlot {
  #server: MetricsServer | undefined;
  #where: MetricsEndpoint | undefined;
  readonly #control: ControlTarget;
  readonly #histograms: HistogramSet;
  readonly #log: Logger;

  constructor(control: ControlTarget, histograms: HistogramSet, log: Logger) {
    this.#control = control;
    this.#histograms = histograms;
    this.#log = log;
  }

  /** Opens the endpoint the configuration names, if any. */
  async start(config: Config): Promise<void> {
    this.#server = config.metrics ? await this.#open(config.metrics) : undefined;
    this.#where = config.metrics;
  }

  /**
   * Readies the endpoint of a reloaded configuration. The new one opens while the old still
   * serves, so a port that cannot be bound refuses the reload; on the old one's own port
   * (another address) the old closes first, and is opened again if the reload is undone.
   */
  async prepare(config: Config): Promise<PreparedChange> {
    const before = this.#where;
    const after = config.metrics;
    if (before?.address === after?.address && before?.port === after?.port) return NO_CHANGE;
    const old = this.#server;
    let next: MetricsServer | undefined;
    let oldClosed = false;
    try {
      next = after ? await this.#open(after) : undefined;
    } catch (error) {
      const onOldPort = old && before && after?.port === before.port &&
        error instanceof Deno.errors.AddrInUse;
      if (!onOldPort) throw error;
      await old.close();
      oldClosed = true;
      try {
        next = await this.#open(after);
      } catch (error) {
        this.#server = await this.#open(before);
        throw error;
      }
    }
    this.#server = next;
    this.#where = after;
    return {
      commit: async () => {
        if (!oldClosed) await old?.close();
      },
      abandon: async () => {
        await next?.close();
        this.#server = oldClosed ? await this.#open(before!) : old;
        this.#where = before;
      },
    };
  }

  /** Stops serving. */
  async close(): Promise<void> {
    await this.#server?.close();
    this.#server = undefined;
  }

  async #open(where: MetricsEndpoint): Promise<MetricsServer> {
    const server = await startMetricsServer({
      address: where.address,
      port: where.port,
      render: () => {
        const { uptime, ...counters } = currentStats(this.#control);
        return renderMetrics(counters, this.#histograms, uptime ?? 0);
      },
    });
    this.#log.info(`smtpd: metrics on http://${hostPort(server.address, server.port)}/metrics`);
    return server;
  }
}

function hostPort(address: string, port: number): string {
  return address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
}
