import { assertEquals, assertRejects, assertThrows } from "../../../test/assert.ts";
import { NetworkTable, type Rows } from "./network_table.ts";
import { withTableLookups } from "./lookup_scope.ts";
import type { TableService } from "../table.ts";

// A backend over an in-process map whose server can be switched off or slowed down: what
// the machinery sees of any real server, answers, refusals and silence.
class ScriptedBackend {
  rows = new Map<string, Rows>();
  state: "up" | "down" | "slow" | "stuck" = "up";
  queries = 0;
  serves(service: TableService) {
    return service === "domain" || service === "alias";
  }
  query(_service: TableService, key: string, signal: AbortSignal): Promise<Rows> {
    this.queries++;
    if (this.state === "down") return Promise.reject(new Error("connection refused"));
    // Never settles, abort or not: a driver waiting on a connection that is gone.
    if (this.state === "stuck") return new Promise(() => {});
    if (this.state === "slow") {
      return new Promise((_, reject) =>
        signal.addEventListener("abort", () => reject(signal.reason))
      );
    }
    return Promise.resolve(this.rows.get(key) ?? []);
  }
  isUnreachable(error: unknown) {
    return String(error).includes("refused");
  }
  // A client made anew: what wedged the old one (its queries that never end) is gone.
  resets = 0;
  reset() {
    this.resets++;
    if (this.state === "stuck") this.state = "up";
  }
  close() {
    return Promise.resolve();
  }
}

function open(backend: ScriptedBackend, lines: string[], cacheTtlMs = 0) {
  return new NetworkTable("t", backend, {
    server: "test server",
    poolSize: 2,
    timeoutMs: 200,
    cacheTtlMs,
    backoffMinMs: 1,
    backoffMaxMs: 1,
    log: { warn: (l) => lines.push(`warn ${l}`), info: (l) => lines.push(`info ${l}`) },
  });
}

Deno.test("NetworkTable answers through withTableLookups() and sees changes at once", async () => {
  const backend = new ScriptedBackend();
  const table = open(backend, []);
  try {
    assertThrows(() => table.match("domain", "example.org"), Error, "where lookups may wait");
    assertEquals(await withTableLookups(() => table.match("domain", "example.org")), false);
    backend.rows.set("*.example.org", [["*.example.org"]]);
    assertEquals(await withTableLookups(() => table.match("domain", "a.example.org")), true);
    backend.rows.set("root", [["gilles"], ["eric"]]);
    assertEquals(await withTableLookups(() => table.lookup("alias", "root")), "gilles, eric");
    backend.rows.delete("root");
    assertEquals(await withTableLookups(() => table.lookup("alias", "root")), undefined);
  } finally {
    table.close();
  }
});

Deno.test("NetworkTable: a server down or silent fails the lookup, logs once, and comes back", async () => {
  const backend = new ScriptedBackend();
  const lines: string[] = [];
  const table = open(backend, lines);
  try {
    backend.state = "down";
    await assertRejects(
      async () => await withTableLookups(() => table.match("domain", "example.org")),
      Error,
      'Table "t": test server is unreachable: connection refused',
    );
    await assertRejects(
      async () => await withTableLookups(() => table.match("domain", "example.org")),
      Error,
      "unreachable",
    );
    assertEquals(lines.filter((l) => l.includes("went away")).length, 1);
    backend.state = "slow";
    await new Promise((r) => setTimeout(r, 5)); // past the 1 ms backoff
    await assertRejects(
      async () => await withTableLookups(() => table.lookup("alias", "x")),
      Error,
      "did not answer within 200 ms",
    );
    backend.state = "up";
    backend.rows.set("example.org", [["example.org"]]);
    await new Promise((r) => setTimeout(r, 5));
    assertEquals(await withTableLookups(() => table.match("domain", "example.org")), true);
    assertEquals(lines.filter((l) => l.includes("is back after")).length, 1);
  } finally {
    table.close();
  }
});

Deno.test("NetworkTable with cache_ttl keeps answers until the TTL or dropCache()", async () => {
  const backend = new ScriptedBackend();
  const table = open(backend, [], 60_000);
  try {
    assertEquals(await withTableLookups(() => table.match("domain", "example.org")), false);
    backend.rows.set("example.org", [["example.org"]]);
    assertEquals(await withTableLookups(() => table.match("domain", "example.org")), false);
    table.dropCache();
    assertEquals(await withTableLookups(() => table.match("domain", "example.org")), true);
  } finally {
    table.close();
  }
});

Deno.test("NetworkTable: queries that never end after their deadline do not keep the pool", async () => {
  const backend = new ScriptedBackend();
  const lines: string[] = [];
  const table = open(backend, lines);
  try {
    backend.state = "stuck";
    // As many as the pool holds (2), each cut at its 200 ms deadline.
    for (let n = 0; n < 2; n++) {
      await assertRejects(
        async () => await withTableLookups(() => table.lookup("alias", `k${n}`)),
        Error,
        "did not answer within 200 ms",
      );
    }
    backend.state = "up";
    backend.rows.set("root", [["gilles"]]);
    assertEquals(await withTableLookups(() => table.lookup("alias", "root")), "gilles");
  } finally {
    table.close();
  }
});

Deno.test("NetworkTable: a probe that finds the server silent makes the client anew", async () => {
  const backend = new ScriptedBackend();
  const lines: string[] = [];
  const table = open(backend, lines);
  backend.rows.set("root", [["gilles"]]);
  const lookup = async () => await withTableLookups(() => table.lookup("alias", "root"));
  try {
    backend.state = "down";
    await assertRejects(lookup, Error, "unreachable");
    // Back, but the old client's queries never end (PostgreSQL restarted under npm:postgres).
    backend.state = "stuck";
    await new Promise((r) => setTimeout(r, 5)); // past the 1 ms backoff
    await assertRejects(lookup, Error, "did not answer within 200 ms");
    assertEquals(backend.resets, 1);
    await new Promise((r) => setTimeout(r, 5));
    assertEquals(await lookup(), "gilles");
    assertEquals(lines.filter((l) => l.includes("is back")).length, 1);
  } finally {
    table.close();
  }
});
