// The metrics endpoint: HTTP on the configured address, GET /metrics answers the Prometheus
// text format; nothing else is served. Opt-in (`metrics listen on …`).

/** A running endpoint. */
export interface MetricsServer {
  readonly address: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Options of {@link startMetricsServer}. */
export interface MetricsServerOptions {
  readonly address: string;
  /** 0 picks a free port (tests). */
  readonly port: number;
  /** The exposition text, made at each scrape. */
  render(): string | Promise<string>;
}

/** Content type of the text exposition format 0.0.4. */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Starts serving; resolves once it listens (rejects when the address cannot be bound). */
export function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const hostname = options.address === "localhost" ? "127.0.0.1" : options.address;
  return new Promise((resolve, reject) => {
    let server: Deno.HttpServer<Deno.NetAddr>;
    try {
      server = Deno.serve({
        hostname,
        port: options.port,
        onListen: (addr) =>
          resolve({
            address: addr.hostname,
            port: addr.port,
            close: () => server.shutdown(),
          }),
        onError: () => new Response("internal error\n", { status: 500 }),
      }, async (request) => {
        const path = new URL(request.url).pathname;
        if (path !== "/metrics") return new Response("not found: try /metrics\n", { status: 404 });
        if (request.method !== "GET" && request.method !== "HEAD") {
          return new Response("GET only\n", { status: 405, headers: { allow: "GET, HEAD" } });
        }
        return new Response(await options.render(), {
          headers: { "content-type": METRICS_CONTENT_TYPE },
        });
      });
    } catch (error) {
      reject(error);
    }
  });
}
