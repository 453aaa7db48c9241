import { assertEquals } from "../../test/assert.ts";
import { networkTablePaths } from "./network_table_paths.ts";

Deno.test("networkTablePaths() names each backend's unix sockets and the ldap ca_file", () => {
  assertEquals(networkTablePaths("mysql", "socket /run/mysqld/mysqld.sock\ndatabase mail\n"), {
    files: [],
    sockets: ["/run/mysqld/mysqld.sock"],
  });
  assertEquals(networkTablePaths("mysql", "host db.example.org\n"), { files: [], sockets: [] });
  assertEquals(
    networkTablePaths("postgres", "conninfo host=/var/run/postgresql port=5433 dbname=mail\n"),
    { files: [], sockets: ["/var/run/postgresql/.s.PGSQL.5433"] },
  );
  assertEquals(
    networkTablePaths("postgres", "conninfo postgresql:///mail?host=/run/pg\n").sockets,
    ["/run/pg/.s.PGSQL.5432"],
  );
  assertEquals(networkTablePaths("postgres", "conninfo host=127.0.0.1\n").sockets, []);
  assertEquals(
    networkTablePaths("redis", "master unix:/run/redis/redis.sock\nslave unix:/run/r2.sock\n"),
    { files: [], sockets: ["/run/redis/redis.sock", "/run/r2.sock"] },
  );
  assertEquals(
    networkTablePaths(
      "ldap",
      "url ldaps://ldap.example.org\nca_file /etc/ssl/ldap-ca.pem\nbasedn dc=x\n" +
        "domain_filter (d=%s)\ndomain_attributes d\n",
    ),
    { files: ["/etc/ssl/ldap-ca.pem"], sockets: [] },
  );
  // A file that does not parse names nothing: the table says why as it opens.
  assertEquals(networkTablePaths("ldap", "basedn dc=x\n"), { files: [], sockets: [] });
  assertEquals(networkTablePaths("file", "socket /x\n"), { files: [], sockets: [] });
});
