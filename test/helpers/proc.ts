/** What a child process costs, read from Linux's /proc: its resident memory and CPU time. */

/** Resident set size of a process, in bytes (/proc/PID/status VmRSS). */
export async function rssOf(pid: number): Promise<number> {
  const status = await Bun.file(`/proc/${pid}/status`).text()
  const m = /^VmRSS:\s+(\d+) kB/m.exec(status)
  if (!m) throw new Error(`no VmRSS for process ${pid}`)
  return Number(m[1]) * 1024
}

/** CPU time a process has used so far (user + system), in milliseconds (/proc/PID/stat). */
export async function cpuMsOf(pid: number): Promise<number> {
  const stat = await Bun.file(`/proc/${pid}/stat`).text()
  // The fields after the command name (which may hold spaces), from field 3 on.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const ticks = Number(fields[11]) + Number(fields[12])
  // Linux counts in USER_HZ, 100 per second on every architecture it runs on.
  return ticks * 10
}

/** Megabytes, for messages. */
export const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`
