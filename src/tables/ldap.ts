// The `ldap:` backend: a table_ldap.c configuration (url, bind, basedn, one filter and
// attributes per service) searched over one bound connection, re-bound after it was lost,
// under the shared network table machinery.

import { Client, ResultCodeError } from "ldapts";
import { errorMessage } from "../mail/mod.ts";
import { type LdapConfig, ldapFilter, parseLdapConfig } from "./ldap_config.ts";
import { describeLdapFailure, LdapRefusal } from "./ldap_result.ts";
import type { GuardLog } from "./network/backend_guard.ts";
import { readNetworkLimits } from "./network/network_config.ts";
import { type NetworkBackend, NetworkTable, type Rows } from "./network/network_table.ts";
import { TableLoadError, UnusableAnswerError } from "./table_error.ts";
import { parseTableText } from "./table_text.ts";
import type { TableService } from "./table.ts";

type Entry = Record<string, unknown>;

/** Opens an `ldap:` table; nothing is connected until the first lookup. */
export async function openLdapTable(
  name: string,
  configPath: string,
  options: { log?: GuardLog | undefined } = {},
): Promise<NetworkTable> {
  const { config, entries } = await parseTableText(name, configPath, parseLdapConfig);
  const limits = readNetworkLimits(entries);
  const backend = new LdapBackend(config, limits.timeoutMs, await readCa(name, config));
  return new NetworkTable(name, backend, { ...limits, server: backend.server, log: options.log });
}

async function readCa(name: string, config: LdapConfig): Promise<string | undefined> {
  if (config.caFile === undefined) return undefined;
  try {
    return await Deno.readTextFile(config.caFile);
  } catch (error) {
    throw new TableLoadError(
      { table: name, file: config.caFile },
      `ca_file: ${errorMessage(error)}`,
      { cause: error },
    );
  }
}

// The searches of one ldap table.
class LdapBackend implements NetworkBackend {
  readonly #config: LdapConfig;
  readonly #timeoutMs: number;
  readonly #ca: string | undefined;
  #client: Client | undefined;
  #binding: Promise<Client> | undefined;
  #isBound = false;

  constructor(config: LdapConfig, timeoutMs: number, ca?: string) {
    this.#config = config;
    this.#timeoutMs = timeoutMs;
    this.#ca = ca;
  }

  /** `ldap ldap://host:port`, for log lines. */
  get server(): string {
    return `ldap ${this.#config.url}`;
  }

  serves(service: TableService): boolean {
    return this.#config.queries.has(service);
  }

  /** Searches the base for the service's filter with the key (NetworkTable lowercased it). */
  async query(service: TableService, key: string, signal: AbortSignal): Promise<Rows> {
    const query = this.#config.queries.get(service);
    if (!query) throw new Error(`no ${service}_filter in the ldap table configuration`);
    const client = await this.#bound();
    // A search past the table's deadline: the connection is given up, the next one re-binds.
    const giveUp = () => this.#drop(client);
    signal.addEventListener("abort", giveUp, { once: true });
    let entries: Entry[];
    try {
      ({ searchEntries: entries } = await client.search(this.#config.basedn, {
        scope: "sub",
        filter: ldapFilter(query, key),
        attributes: [...query.attributes],
      }));
    } catch (error) {
      if (!(error instanceof ResultCodeError)) this.#drop(client);
      throw describeLdapFailure(error, `search of ${this.#config.basedn}`);
    } finally {
      signal.removeEventListener("abort", giveUp);
    }
    return entryRows(service, query.attributes, entries);
  }

  /** A failure without an LDAP result code is the connection's: the server is unreachable. */
  isUnreachable(error: unknown): boolean {
    return !(error instanceof LdapRefusal || error instanceof ResultCodeError ||
      error instanceof UnusableAnswerError);
  }

  async close(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    this.#binding = undefined;
    this.#isBound = false;
    await client?.unbind().catch(() => {});
  }

  #bound(): Promise<Client> {
    // A bind under way is shared; a bound connection that was lost is opened again.
    if (this.#binding && (!this.#isBound || this.#client?.isConnected)) return this.#binding;
    if (this.#client) this.#drop(this.#client);
    const client = new Client({
      url: this.#config.url,
      // The table's deadline comes first; these only bound a client left without one.
      timeout: this.#timeoutMs * 2,
      connectTimeout: this.#timeoutMs * 2,
      ...(this.#ca === undefined ? {} : { tlsOptions: { ca: this.#ca } }),
    });
    this.#client = client;
    const { username, password } = this.#config;
    const binding = (username === undefined ? Promise.resolve() : client.bind(username, password!))
      .then(() => {
        if (this.#client === client) this.#isBound = true;
        return client;
      }, (error) => {
        this.#drop(client);
        throw describeLdapFailure(error, `bind as ${username}`);
      });
    this.#binding = binding;
    return binding;
  }

  #drop(client: Client): void {
    if (this.#client !== client) return;
    this.#client = undefined;
    this.#binding = undefined;
    this.#isBound = false;
    client.unbind().catch(() => {});
  }
}

function values(entry: Entry, attribute: string): string[] {
  const name = Object.keys(entry).find((k) => k.toLowerCase() === attribute.toLowerCase());
  const value = name === undefined ? undefined : entry[name];
  if (value === undefined) return [];
  const list = Array.isArray(value) ? value : [value];
  return list.map((v) => v instanceof Uint8Array ? new TextDecoder().decode(v) : String(v));
}

/**
 * The rows of a search, as table_ldap.c formats it: alias and mailaddrmap list every value
 * of every entry found; credentials and userinfo take the first value of each attribute of
 * the first entry (one missing is an error, as in table_ldap.c); the list services match
 * when an entry is found.
 */
export function entryRows(
  service: TableService,
  attributes: readonly string[],
  entries: Entry[],
): Rows {
  const first = entries[0];
  if (first === undefined) return [];
  if (service === "alias" || service === "mailaddrmap") {
    return entries.flatMap((entry) => values(entry, attributes[0]!).map((v) => [v]));
  }
  if (service === "credentials" || service === "userinfo") {
    return [attributes.map((attribute) => {
      const value = values(first, attribute)[0];
      if (value === undefined) {
        throw new UnusableAnswerError(`the entry ${String(first.dn)} has no ${attribute}`);
      }
      return value;
    })];
  }
  return [[values(first, attributes[0]!)[0] ?? String(first.dn)]];
}
