// Fetching an MTA-STS policy (RFC 8461 §3.3): HTTPS to mta-sts.DOMAIN, the certificate
// verified for that name against the trust store (WebPKI), no redirects, a 200 answer of
// type text/plain, at most 64 KiB, within a deadline. Anything else is no policy.

import { request } from "node:https";
import { checkServerIdentity } from "node:tls";
import type { IncomingMessage } from "node:http";

/** Where and how to fetch. */
export interface PolicyFetchOptions {
  /** The address to connect to (resolved by the caller's resolver); the name otherwise. */
  readonly address?: string;
  /** 443; tests serve the policy elsewhere. */
  readonly port?: number;
  /** Trust anchors (PEM). */
  readonly ca?: string;
  readonly timeoutMs?: number;
}

// RFC 8461 §3.3: senders may limit the size of a policy; 64 KiB is what it suggests.
const MAX_BYTES = 64 * 1024;
const DEFAULT_TIMEOUT_MS = 60_000;

/** The policy text of a domain, or why there is none. */
export function fetchPolicyText(
  domain: string,
  options: PolicyFetchOptions = {},
): Promise<{ text: string } | { error: string }> {
  const host = `mta-sts.${domain}`;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return new Promise((resolve) => {
    let settled = false;
    const done = (outcome: { text: string } | { error: string }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(outcome);
    };
    const req = request({
      host: options.address ?? host,
      port: options.port ?? 443,
      path: "/.well-known/mta-sts.txt",
      method: "GET",
      servername: host,
      headers: { host, accept: "text/plain" },
      agent: false,
      rejectUnauthorized: true,
      ...(options.ca === undefined ? {} : { ca: options.ca }),
      // WebPKI: the certificate must name the policy host, whatever address was dialled.
      checkServerIdentity: (_name, cert) => checkServerIdentity(host, cert),
    }, (res: IncomingMessage) => {
      // RFC 8461 §3.3: redirects are not followed; only a 200 is a policy.
      if (res.statusCode !== 200) {
        res.resume();
        return done({ error: `https://${host}/.well-known/mta-sts.txt: HTTP ${res.statusCode}` });
      }
      const type = String(res.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
      if (type !== "text/plain") {
        res.resume();
        return done({ error: `${host} served the policy as "${type}", not text/plain` });
      }
      const chunks: Uint8Array[] = [];
      let size = 0;
      res.on("data", (chunk: Uint8Array) => {
        size += chunk.length;
        if (size > MAX_BYTES) {
          req.destroy();
          return done({ error: `the policy of ${host} is larger than ${MAX_BYTES} bytes` });
        }
        chunks.push(chunk);
      });
      res.on("end", () => {
        const body = new Uint8Array(size);
        let offset = 0;
        for (const chunk of chunks) {
          body.set(chunk, offset);
          offset += chunk.length;
        }
        done({ text: new TextDecoder().decode(body) });
      });
      res.on("error", (error: Error) => done({ error: `${host}: ${error.message}` }));
    });
    const timer = setTimeout(() => {
      req.destroy();
      done({ error: `${host} did not serve the policy within ${timeoutMs / 1000} s` });
    }, timeoutMs);
    req.on("error", (error: Error) => done({ error: `${host}: ${error.message}` }));
    req.end();
  });
}
