// Where util-linux's setpriv(1) is. A root daemon starts through it what Deno.Command's
// uid and gid cannot express: the SMTP front (its capabilities), and the mailbox writers
// that enter the mail spool's group (a real gid apart from the effective one).

/** The setpriv(1) program, or undefined when util-linux's setpriv is not installed. */
export function findSetpriv(): string | undefined {
  return ["/usr/bin/setpriv", "/bin/setpriv", "/usr/sbin/setpriv"].find((path) => {
    try {
      return Deno.statSync(path).isFile;
    } catch {
      return false;
    }
  });
}
