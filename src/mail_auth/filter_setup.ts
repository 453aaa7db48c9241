// The configuration's `dkim-sign` and `auth-verify` filters built for the filter set:
// keys read (a key that cannot sign stops the start, naming the filter's line), the
// authserv-id and the daemon's DNS settings given to the checks.

import { resolve } from "node:path";
import { type Config, formatPosition } from "../config/mod.ts";
import type { ChainFilter } from "../filters/mod.ts";
import type { Logger } from "../log/mod.ts";
import { errorMessage } from "../mail/mod.ts";
import { loadDkimKey } from "./dkim_key.ts";
import type { DnsSettings } from "./dns_resolver.ts";
import { authVerifyFilter, dkimSignFilter } from "./filters.ts";

/** Options of {@link startMailAuthFilters}. */
export interface MailAuthSetupOptions {
  /** Relative key paths are read from here (the configuration's directory). */
  readonly baseDir: string;
  /** `admd`, else the server's name. */
  readonly authservId: string;
  readonly dns?: DnsSettings;
  readonly log: Logger;
}

/** The mail authentication filters the configuration declares, ready for a chain. */
export async function startMailAuthFilters(
  config: Config,
  options: MailAuthSetupOptions,
): Promise<ChainFilter[]> {
  const filters: ChainFilter[] = [];
  for (const decl of config.filters) {
    const spec = decl.spec;
    const where = formatPosition(decl.position);
    if (spec.kind === "dkim-sign") {
      const path = resolve(options.baseDir, spec.key);
      const key = await loadDkimKey(path).catch((error) => {
        throw new Error(`${where}: filter "${decl.name}": ${errorMessage(error)}`);
      });
      options.log.info(
        `filter ${decl.name}: signs mail from ${spec.domain} with ${key.algorithm}, selector ${spec.selector}`,
      );
      filters.push(dkimSignFilter({
        name: decl.name,
        domain: spec.domain,
        selector: spec.selector,
        key,
        log: options.log,
      }));
    } else if (spec.kind === "auth-verify") {
      filters.push(authVerifyFilter({
        name: decl.name,
        authservId: options.authservId,
        ...(options.dns ? { dns: options.dns } : {}),
        rejectDmarc: spec.rejectDmarc,
        onTemperror: spec.onTemperror,
        log: options.log,
      }));
    }
  }
  return filters;
}
