// Real Redis and OpenLDAP servers for the network table tests: each started on 127.0.0.1
// at a free port with a scratch data directory, stopped by its pid, restartable on the
// same port (to show a backend that went away and came back).

import { freePort, waitFor } from "./_helpers.ts";

/** Why the servers cannot be started here, or undefined when they can. */
export function kvServersMissing(): string | undefined {
  const missing = ["/usr/bin/redis-server", "/usr/sbin/slapd", "/usr/bin/ldapadd"].filter(
    (path) => {
      try {
        return !Deno.statSync(path).isFile;
      } catch {
        return true;
      }
    },
  );
  return missing.length === 0
    ? undefined
    : `${missing.join(", ")} not installed (.ci/install_kv_servers.sh installs them)`;
}

/** A server a test started: where it listens, and how to stop and start it again. */
export interface TestServer extends AsyncDisposable {
  readonly port: number;
  readonly dir: string;
  /** Stops the server (SIGTERM to its pid) and waits for it to exit. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data directory. */
  start(): Promise<void>;
  /**
   * Freezes the server (SIGSTOP): it holds its connections and answers nothing. Resolves
   * once the kernel shows every thread of it stopped, so nothing sent after is answered.
   */
  pause(): Promise<void>;
  /** Lets a frozen server run again (SIGCONT). */
  resume(): void;
}

/** The password the Redis server requires (`requirepass`). */
export const REDIS_PASSWORD = "redis-secret";

/** Starts redis-server with a password on a free port; its data outlives a restart (AOF). */
export async function startRedis(): Promise<
  TestServer & { cli(...args: string[]): Promise<string> }
> {
  const dir = await Deno.makeTempDir({ prefix: "redis-test-" });
  const port = freePort();
  let child: Deno.ChildProcess | undefined;
  const start = async () => {
    child = new Deno.Command("redis-server", {
      args: [
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--dir",
        dir,
        "--save",
        "",
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
        "--requirepass",
        REDIS_PASSWORD,
        "--logfile",
        `${dir}/redis.log`,
      ],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    await waitFor("redis-server to answer", async () => {
      const out = await cli("PING").catch(() => "");
      return out.trim() === "PONG" ? true : undefined;
    }, 30_000);
  };
  const cli = async (...args: string[]) => {
    const out = await new Deno.Command("redis-cli", {
      args: [
        "-h",
        "127.0.0.1",
        "-p",
        String(port),
        "--no-auth-warning",
        "-a",
        REDIS_PASSWORD,
        ...args,
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    if (!out.success || text.startsWith("ERR") || text.startsWith("(error)")) {
      throw new Error(
        `redis-cli ${args.join(" ")}: ${text}${new TextDecoder().decode(out.stderr)}`,
      );
    }
    return text;
  };
  const stop = async () => {
    const running = child;
    child = undefined;
    if (!running) return;
    try {
      running.kill("SIGTERM");
    } catch { /* already gone */ }
    await running.status;
  };
  await start();
  return {
    port,
    dir,
    cli,
    stop,
    start,
    pause: () => freeze(child),
    resume: () => child?.kill("SIGCONT"),
    async [Symbol.asyncDispose]() {
      await stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/** SIGSTOP, then waits until each thread of the process is in the stopped state (`T`). */
async function freeze(child: Deno.ChildProcess | undefined): Promise<void> {
  if (!child) throw new Error("the server is not running");
  child.kill("SIGSTOP");
  await waitFor(`process ${child.pid} to stop`, async () => {
    // One line per thread (ps -L); reading /proc directly needs every permission.
    const out = await new Deno.Command("ps", {
      args: ["-L", "-o", "stat=", "-p", String(child.pid)],
      stdout: "piped",
      stderr: "null",
    }).output();
    const states = new TextDecoder().decode(out.stdout).split("\n").filter((l) => l.trim());
    return states.length > 0 && states.every((l) => l.trim().startsWith("T")) ? true : undefined;
  });
}

/** The suffix, administrator and password of the test directory. */
export const LDAP_SUFFIX = "dc=example,dc=org";
export const LDAP_ADMIN = "cn=admin,dc=example,dc=org";
export const LDAP_PASSWORD = "ldap-secret";

const SCHEMAS = ["core", "cosine", "inetorgperson", "nis", "misc"];

/**
 * Starts slapd (mdb backend, slapd.conf) on a free port, holding only the suffix entry;
 * with `tls`, also speaking ldaps:// on `tlsPort` with that certificate and key (PEM).
 */
export async function startSlapd(options: { tls?: { cert: string; key: string } } = {}): Promise<
  TestServer & {
    tlsPort: number;
    add(ldif: string): Promise<void>;
    modify(ldif: string): Promise<void>;
  }
> {
  const dir = await Deno.makeTempDir({ prefix: "slapd-test-" });
  await Deno.mkdir(`${dir}/data`);
  const port = freePort();
  const tlsPort = options.tls ? freePort() : 0;
  if (options.tls) {
    await Deno.writeTextFile(`${dir}/tls.crt`, options.tls.cert);
    await Deno.writeTextFile(`${dir}/tls.key`, options.tls.key, { mode: 0o600 });
  }
  const conf = [
    ...(options.tls
      ? [`TLSCertificateFile ${dir}/tls.crt`, `TLSCertificateKeyFile ${dir}/tls.key`]
      : []),
    ...SCHEMAS.map((s) => `include /etc/ldap/schema/${s}.schema`),
    `pidfile ${dir}/slapd.pid`,
    "modulepath /usr/lib/ldap",
    "moduleload back_mdb",
    "database mdb",
    "maxsize 104857600",
    `suffix "${LDAP_SUFFIX}"`,
    `rootdn "${LDAP_ADMIN}"`,
    `rootpw ${LDAP_PASSWORD}`,
    `directory ${dir}/data`,
    // The attributes tables search by, indexed as a site's directory has them.
    "index objectClass eq",
    "index cn,uid,mail,associatedDomain,ipHostNumber eq",
    "",
  ].join("\n");
  await Deno.writeTextFile(`${dir}/slapd.conf`, conf);
  // slapd drops root for its own user when the test runs as root.
  const asRoot = Deno.uid() === 0;
  if (asRoot) await new Deno.Command("chown", { args: ["-R", "openldap:openldap", dir] }).output();
  let child: Deno.ChildProcess | undefined;
  const ldapTool = async (tool: string, ldif: string) => {
    const process = new Deno.Command(tool, {
      args: ["-x", "-H", `ldap://127.0.0.1:${port}/`, "-D", LDAP_ADMIN, "-w", LDAP_PASSWORD],
      stdin: "piped",
      // Its "adding new entry" lines are not read: a pipe left unread would fill and stop
      // it after a few hundred entries.
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const writer = process.stdin.getWriter();
    await writer.write(new TextEncoder().encode(ldif));
    await writer.close();
    const out = await process.output();
    if (!out.success) {
      throw new Error(`${tool} failed: ${new TextDecoder().decode(out.stderr)}`);
    }
  };
  const start = async () => {
    child = new Deno.Command("slapd", {
      args: [
        "-d",
        "0",
        "-h",
        `ldap://127.0.0.1:${port}/${options.tls ? ` ldaps://127.0.0.1:${tlsPort}/` : ""}`,
        "-f",
        `${dir}/slapd.conf`,
        ...(asRoot ? ["-u", "openldap", "-g", "openldap"] : []),
      ],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    await waitFor("slapd to answer", async () => {
      const out = await new Deno.Command("ldapsearch", {
        args: ["-x", "-H", `ldap://127.0.0.1:${port}/`, "-s", "base", "-b", "", "namingContexts"],
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).output();
      return out.success ? true : undefined;
    }, 30_000);
  };
  const stop = async () => {
    const running = child;
    child = undefined;
    if (!running) return;
    try {
      running.kill("SIGTERM");
    } catch { /* already gone */ }
    await running.status;
  };
  await start();
  await ldapTool(
    "ldapadd",
    `dn: ${LDAP_SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n`,
  );
  return {
    port,
    tlsPort,
    dir,
    stop,
    start,
    pause: () => freeze(child),
    resume: () => child?.kill("SIGCONT"),
    add: (ldif) => ldapTool("ldapadd", ldif),
    modify: (ldif) => ldapTool("ldapmodify", ldif),
    async [Symbol.asyncDispose]() {
      await stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}
