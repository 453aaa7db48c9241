// The resident memory of another process, for tests that bound a daemon's memory. Deno lets
// only --allow-all read /proc/PID, so the file is read by cat(1) (tests may run programs).

/** VmRSS of process `pid` in MB (from /proc/PID/status); 0 once the process is gone. */
export function residentMegabytes(pid: number): number {
  const { stdout, success } = new Deno.Command("cat", {
    args: [`/proc/${pid}/status`],
    stdout: "piped",
    stderr: "null",
  }).outputSync();
  if (!success) return 0;
  const status = new TextDecoder().decode(stdout);
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) / 1024;
}
