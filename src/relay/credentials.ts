// What a relay action names and the connection needs in hand: the `auth` table's
// credentials for the URL's label, and the `pki` and `ca` files.

import type { Config, RelayOptions } from "../config/mod.ts";
import { type Credentials, parseCredentials } from "../client/mod.ts";
import { type DeliveryFailure, errorMessage, tempfail } from "../mail/mod.ts";
import { resolvePath, type Table, withTableLookups } from "../tables/mod.ts";

/**
 * The user and password the URL's label stands for; undefined without `auth`. A table
 * answered by a server is waited for; one that cannot answer defers the mail.
 */
export async function relayCredentials(
  options: RelayOptions,
  context: { readonly tables?: ReadonlyMap<string, Table> },
): Promise<Credentials | DeliveryFailure | undefined> {
  if (!options.auth) return undefined;
  const label = options.host?.label;
  const table = context.tables?.get(options.auth.name);
  // An operator can fix a missing entry; until then the mail waits.
  if (!label || !table) return tempfail(`4.7.0 no table "${options.auth.name}" for relay AUTH`);
  let entry: string | undefined;
  try {
    entry = await withTableLookups(() => table.lookup("credentials", label));
  } catch (error) {
    return tempfail(
      `4.7.0 cannot read the credentials for "${label}" in table "${options.auth.name}": ${
        errorMessage(error)
      }`,
    );
  }
  if (entry === undefined) {
    return tempfail(`4.7.0 no credentials for "${label}" in table "${options.auth.name}"`);
  }
  return parseCredentials(entry) ??
    tempfail(`4.7.0 the credentials for "${label}" are not "user:password"`);
}

/** The client certificate (`pki`) and trust anchors (`ca`) of the action, as PEM. */
export async function relayTlsFiles(
  options: RelayOptions,
  context: { readonly config?: Pick<Config, "pkis" | "cas">; readonly baseDir?: string },
): Promise<{ ca?: string; cert?: string; key?: string } | DeliveryFailure> {
  const files: { ca?: string; cert?: string; key?: string } = {};
  const base = context.baseDir ?? ".";
  try {
    if (options.pki) {
      const pki = context.config?.pkis.find((p) => p.name === options.pki);
      if (!pki?.cert || !pki.key) return tempfail(`pki "${options.pki}" needs a cert and a key`);
      files.cert = await readPem(resolvePath(base, pki.cert));
      files.key = await readPem(resolvePath(base, pki.key));
    }
    if (options.ca) {
      const ca = context.config?.cas.find((c) => c.name === options.ca);
      if (!ca) return tempfail(`no ca named "${options.ca}"`);
      files.ca = await readPem(resolvePath(base, ca.cert));
    }
  } catch (error) {
    return tempfail(`4.7.0 cannot read a relay certificate: ${errorMessage(error)}`);
  }
  return files;
}

// Read per connection: a renewed certificate is used without a restart.
async function readPem(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    throw new Error(`${path}: ${errorMessage(error)}`);
  }
}
