// Real database servers for the network table tests, each on 127.0.0.1 with a port of its
// own and a scratch data directory, run as the server's system user and stopped by its pid:
// PostgreSQL (initdb + postgres) and MariaDB (mariadb-install-db + mariadbd).

import { freePort, waitFor } from "./_helpers.ts";

/** A running database server that can be stopped and started again on the same port. */
export interface DatabaseServer {
  readonly port: number;
  readonly dir: string;
  /** Stops the server by its pid and waits for it to exit. */
  stop(): Promise<void>;
  /** Starts it again (same data, same port) and waits until it accepts connections. */
  start(): Promise<void>;
  /** What the server logged (for failure messages). */
  log(): string;
}

const PG_BIN = (() => {
  try {
    for (const entry of Deno.readDirSync("/usr/lib/postgresql")) {
      const bin = `/usr/lib/postgresql/${entry.name}/bin`;
      if (exists(`${bin}/initdb`)) return bin;
    }
  } catch { /* not installed */ }
  return undefined;
})();

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

function account(name: string): { uid: number; gid: number } | undefined {
  const line = Deno.readTextFileSync("/etc/passwd").split("\n").find((l) =>
    l.startsWith(`${name}:`)
  );
  if (!line) return undefined;
  const fields = line.split(":");
  return { uid: Number(fields[2]), gid: Number(fields[3]) };
}

/** Why PostgreSQL cannot run here, or undefined. */
export function postgresMissing(): string | undefined {
  if (Deno.uid() !== 0) return "the PostgreSQL server is run as its own user, which needs root";
  if (!PG_BIN) return "PostgreSQL is not installed (.ci/install_databases.sh installs it)";
  if (!account("postgres")) return "there is no postgres account";
  return undefined;
}

/** Why MariaDB cannot run here, or undefined. */
export function mariadbMissing(): string | undefined {
  if (Deno.uid() !== 0) return "the MariaDB server is run as its own user, which needs root";
  if (!exists("/usr/sbin/mariadbd")) {
    return "MariaDB is not installed (.ci/install_databases.sh installs it)";
  }
  if (!account("mysql")) return "there is no mysql account";
  return undefined;
}

async function run(cmd: string, args: string[], as: { uid: number; gid: number }) {
  const out = await new Deno.Command(cmd, { args, uid: as.uid, gid: as.gid, stdin: "null" })
    .output();
  if (!out.success) {
    throw new Error(`${cmd} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
}

// Starts a server process, collecting its standard error, resolving once a line of it
// says the server is ready.
function serve(
  cmd: string,
  args: string[],
  as: { uid: number; gid: number },
  ready: RegExp,
  log: { text: string },
) {
  const child = new Deno.Command(cmd, {
    args,
    uid: as.uid,
    gid: as.gid,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const start = log.text.length;
  const reading = child.stderr.pipeThrough(new TextDecoderStream()).pipeTo(
    new WritableStream({ write: (chunk) => void (log.text += chunk) }),
  );
  let exited = false;
  child.status.then(() => exited = true);
  const up = waitFor(`${cmd} to be ready`, () => {
    if (ready.test(log.text.slice(start))) return true;
    if (exited) throw new Error(`${cmd} exited: ${log.text.slice(start)}`);
    return undefined;
  }, 60_000);
  return { child, reading, up };
}

function server(
  dir: string,
  port: number,
  launch: () => ReturnType<typeof serve>,
  log: { text: string },
  signal: Deno.Signal,
): DatabaseServer {
  let current: ReturnType<typeof serve> | undefined;
  return {
    port,
    dir,
    log: () => log.text,
    async start() {
      current = launch();
      await current.up;
    },
    async stop() {
      const running = current;
      current = undefined;
      if (!running) return;
      try {
        Deno.kill(running.child.pid, signal);
      } catch { /* already gone */ }
      await running.child.status;
      await running.reading.catch(() => {});
    },
  };
}

/**
 * A PostgreSQL server on 127.0.0.1:PORT whose `postgres` role has the password given,
 * required over TCP; `init` runs once, before the server first starts.
 */
export async function startPostgres(password: string): Promise<DatabaseServer> {
  const as = account("postgres")!;
  const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "pg-" });
  await Deno.chown(dir, as.uid, as.gid);
  await Deno.writeTextFile(`${dir}/pw`, `${password}\n`);
  await Deno.chown(`${dir}/pw`, as.uid, as.gid);
  await run(`${PG_BIN}/initdb`, [
    "-D",
    `${dir}/data`,
    "-U",
    "postgres",
    `--pwfile=${dir}/pw`,
    "--auth-local=trust",
    "--auth-host=scram-sha-256",
    "-E",
    "UTF8",
    "--no-sync",
  ], as);
  const port = freePort();
  const log = { text: "" };
  const db = server(
    dir,
    port,
    () =>
      serve(
        `${PG_BIN}/postgres`,
        [
          "-D",
          `${dir}/data`,
          "-p",
          String(port),
          "-k",
          dir,
          "-c",
          "listen_addresses=127.0.0.1",
          "-c",
          "fsync=off",
          "-c",
          "max_connections=60",
        ],
        as,
        /ready to accept connections/,
        log,
      ),
    log,
    "SIGINT",
  ); // a fast shutdown: it cuts its clients off, as a crash would
  await db.start();
  return db;
}

/** The account {@link startMariadb} makes for the tests' own SQL, over TCP. */
export const MARIADB_ADMIN = { user: "admin", password: "admin password" };

/**
 * A MariaDB server on 127.0.0.1:PORT (its socket in the scratch directory), with an
 * account {@link MARIADB_ADMIN} that may do everything from 127.0.0.1 (tests reach
 * servers over TCP only).
 */
export async function startMariadb(): Promise<DatabaseServer & { socket: string }> {
  const as = account("mysql")!;
  const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "mdb-" });
  await Deno.chown(dir, as.uid, as.gid);
  await run("/usr/bin/mariadb-install-db", [
    "--no-defaults",
    `--datadir=${dir}/data`,
    "--auth-root-authentication-method=normal",
    "--skip-test-db",
  ], as);
  const port = freePort();
  const socket = `${dir}/mysqld.sock`;
  const { user, password } = MARIADB_ADMIN;
  await Deno.writeTextFile(
    `${dir}/init.sql`,
    `CREATE USER IF NOT EXISTS '${user}'@'127.0.0.1' IDENTIFIED BY '${password}';\n` +
      `GRANT ALL ON *.* TO '${user}'@'127.0.0.1' WITH GRANT OPTION;\n`,
  );
  const log = { text: "" };
  const db = server(
    dir,
    port,
    () =>
      serve(
        "/usr/sbin/mariadbd",
        [
          "--no-defaults",
          `--datadir=${dir}/data`,
          `--port=${port}`,
          "--bind-address=127.0.0.1",
          `--socket=${socket}`,
          `--pid-file=${dir}/mysqld.pid`,
          `--init-file=${dir}/init.sql`,
          "--skip-log-bin",
          "--innodb-buffer-pool-size=16M",
          "--innodb-log-file-size=8M",
          "--skip-name-resolve",
        ],
        as,
        /ready for connections/,
        log,
      ),
    log,
    "SIGTERM",
  );
  await db.start();
  return { ...db, socket };
}
