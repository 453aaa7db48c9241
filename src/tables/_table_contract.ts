// The contract every table backend keeps: the same entries, loaded through any backend,
// give the same answers for each service. Each backend's test calls runTableContract().

import { assertEquals } from "../../test/assert.ts";
import { servesService } from "./services.ts";
import type { Table, TableService } from "./table.ts";
import { withTableLookups } from "./network/lookup_scope.ts";

// Every answer is asked as the daemon asks it: tables answered by a server wait for it.
const ask = async <T>(question: () => T): Promise<T> => await withTableLookups(question);

/** The entries a backend is asked to load, in backend-neutral form. */
export interface ContractContents {
  readonly shape: "list" | "map";
  readonly entries: readonly (readonly [string, string])[];
}

/** Builds a table of the backend under test holding the contents (in a real file). */
export type MakeContractTable = (name: string, contents: ContractContents) => Promise<Table>;

/** Options of {@link runTableContract}. */
export interface TableContractOptions {
  /** The backend can enumerate its keys (sqlite tables cannot). */
  readonly listsKeys?: boolean;
  /**
   * The backend is asked for the `maps` table too: `mailaddrmap` (`senders <t>`) and
   * `addrname` (`helo-src <t>`) lookups, each checked where the table serves it.
   */
  readonly senderMaps?: boolean;
}

const list = (...keys: string[]): ContractContents => ({
  shape: "list",
  entries: keys.map((k) => [k, k] as const),
});

/** The contract's tables, by name. */
export const CONTRACT_TABLES: Readonly<Record<string, ContractContents>> = {
  domains: list("example.org", "*.example.net", "Mixed.Case.ORG"),
  addresses: list(
    "gilles@example.org",
    "eric+tag@example.org",
    "postmaster",
    "@example.com",
    "Root@Example.ORG",
    "joe@*.example.net",
    "@*.Wild.test",
  ),
  networks: list("192.0.2.0/24", "198.51.100.7", "2001:db8::/32", "::1", "10.0.0.0/8"),
  tags: list("inbound", "Submission"),
  users: {
    shape: "map",
    entries: [
      ["root", "gilles, eric"],
      ["Postmaster", "root"],
      ["gilles", "1000:1000:/home/gilles"],
      ["relay", "gilles:secret"],
    ],
  },
  maps: {
    shape: "map",
    entries: [
      ["gilles", "gilles@example.org, @example.net"],
      ["192.0.2.1", "mx1.example.org"],
    ],
  },
};

type Case = readonly [service: TableService, key: string, expected: boolean];

const MATCH_CASES: Readonly<Record<string, readonly Case[]>> = {
  domains: [
    ["domain", "example.org", true],
    ["domain", "EXAMPLE.Org", true],
    ["domain", "sub.example.org", false],
    ["domain", "example.net", false],
    ["domain", "a.example.net", true],
    ["domain", "A.Example.NET", true],
    ["domain", "b.a.example.net", false],
    ["domain", "mixed.case.org", true],
    ["domain", "example.com", false],
    ["domain", "", false],
  ],
  addresses: [
    ["mailaddr", "gilles@example.org", true],
    ["mailaddr", "GILLES@Example.ORG", true],
    ["mailaddr", "gilles+lists@example.org", true],
    ["mailaddr", "gilles@example.net", false],
    ["mailaddr", "eric@example.org", false],
    ["mailaddr", "eric+tag@example.org", true],
    ["mailaddr", "eric+other@example.org", false],
    ["mailaddr", "postmaster@anything.test", true],
    ["mailaddr", "postmaster+x@anything.test", true],
    ["mailaddr", "postmaster", true],
    ["mailaddr", "anyone@example.com", true],
    ["mailaddr", "someone+x@example.com", true],
    ["mailaddr", "anyone@sub.example.com", false],
    ["mailaddr", "root@example.org", true],
    ["mailaddr", "", false],
    // OpenSMTPD's mailaddr_match(): an entry's domain may be a wildcard.
    ["mailaddr", "joe@a.example.net", true],
    ["mailaddr", "Joe+list@A.Example.NET", true],
    ["mailaddr", "joe@b.a.example.net", false],
    ["mailaddr", "joe@example.net", false],
    ["mailaddr", "ann@a.example.net", false],
    ["mailaddr", "ann@q.wild.test", true],
    ["mailaddr", "ann@wild.test", false],
  ],
  networks: [
    ["netaddr", "192.0.2.200", true],
    ["netaddr", "192.0.2.0", true],
    ["netaddr", "192.0.3.1", false],
    ["netaddr", "198.51.100.7", true],
    ["netaddr", "198.51.100.8", false],
    ["netaddr", "10.255.0.1", true],
    ["netaddr", "11.0.0.1", false],
    ["netaddr", "2001:db8:1::5", true],
    ["netaddr", "2001:DB8::", true],
    ["netaddr", "2001:db9::1", false],
    ["netaddr", "::1", true],
    ["netaddr", "[::1]", true],
    ["netaddr", "::2", false],
    ["netaddr", "not-an-address", false],
    ["source", "192.0.2.9", true],
    ["source", "192.0.4.9", false],
  ],
  tags: [
    ["string", "inbound", true],
    ["string", "INBOUND", true],
    ["string", "submission", true],
    ["string", "outbound", false],
  ],
};

const LOOKUP_CASES: readonly (readonly [TableService, string, string | undefined])[] = [
  ["alias", "root", "gilles, eric"],
  ["alias", "ROOT", "gilles, eric"],
  ["alias", "postmaster", "root"],
  ["alias", "nobody", undefined],
  ["userinfo", "gilles", "1000:1000:/home/gilles"],
  ["credentials", "relay", "gilles:secret"],
  ["credentials", "nobody", undefined],
];

const MAPS_CASES: readonly (readonly [TableService, string, string | undefined])[] = [
  ["mailaddrmap", "gilles", "gilles@example.org, @example.net"],
  ["mailaddrmap", "Gilles", "gilles@example.org, @example.net"],
  ["mailaddrmap", "eric", undefined],
  ["addrname", "192.0.2.1", "mx1.example.org"],
  ["addrname", "192.0.2.2", undefined],
];

/** Registers the contract's tests for one backend. */
export function runTableContract(
  backend: string,
  makeTable: MakeContractTable,
  options: TableContractOptions = {},
): void {
  for (const [name, cases] of Object.entries(MATCH_CASES)) {
    Deno.test(`${backend} table: ${name} match the table(5) rules`, async () => {
      const table = await makeTable(name, CONTRACT_TABLES[name]!);
      try {
        assertEquals(table.shape, "list");
        for (const [service, key, expected] of cases) {
          if (service === "string" && !servesService(table, service)) continue;
          assertEquals(
            await ask(() => table.match(service, key)),
            expected,
            `${service} ${JSON.stringify(key)}`,
          );
        }
        assertEquals(servesService(table, "alias"), false, "a list serves no alias lookups");
      } finally {
        await table.close?.();
      }
    });
  }

  Deno.test(`${backend} table: map lookups find values, case-insensitively`, async () => {
    const table = await makeTable("users", CONTRACT_TABLES.users!);
    try {
      assertEquals(table.shape, "map");
      for (const service of ["alias", "userinfo", "credentials"] as const) {
        assertEquals(servesService(table, service), true, `serves ${service}`);
      }
      for (const [service, key, expected] of LOOKUP_CASES) {
        assertEquals(await ask(() => table.lookup(service, key)), expected, `${service} ${key}`);
      }
      assertEquals(await ask(() => table.match("alias", "Root")), true);
      assertEquals(await ask(() => table.match("alias", "nobody")), false);
    } finally {
      await table.close?.();
    }
  });

  if (options.senderMaps) {
    Deno.test(`${backend} table: sender and address-name maps`, async () => {
      const table = await makeTable("maps", CONTRACT_TABLES.maps!);
      try {
        assertEquals(table.shape, "map");
        const served = MAPS_CASES.filter(([service]) => servesService(table, service));
        assertEquals(served.length > 0, true, "serves mailaddrmap or addrname");
        for (const [service, key, expected] of served) {
          assertEquals(await ask(() => table.lookup(service, key)), expected, `${service} ${key}`);
        }
      } finally {
        await table.close?.();
      }
    });
  }

  if (options.listsKeys ?? true) {
    Deno.test(`${backend} table: keys() lists every entry`, async () => {
      const contents = CONTRACT_TABLES.domains!;
      const table = await makeTable("domains", contents);
      try {
        assertEquals([...table.keys()].sort(), contents.entries.map(([k]) => k).sort());
      } finally {
        await table.close?.();
      }
    });
  }
}
