/**
 * What the pod's child processes cost, read from /proc while they run: how many ffmpeg and
 * ffprobe processes run at once, and the highest peak resident memory (VmHWM) any of them
 * reached. Test pods run in the test's own process, so their tools are its children.
 */
import { readdirSync, readFileSync } from 'node:fs'

/** The media tools among this process's children now: pid, name and peak resident memory (bytes). */
export function mediaChildren(parent = process.pid): { pid: number; name: string; peakRssBytes: number }[] {
  const found: { pid: number; name: string; peakRssBytes: number }[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const status = readFileSync(`/proc/${entry}/status`, 'utf8')
      const name = /^Name:\s*(\S+)/m.exec(status)?.[1] ?? ''
      if (Number(/^PPid:\s*(\d+)/m.exec(status)?.[1]) !== parent || !/^(ffmpeg|ffprobe|prlimit)$/.test(name)) continue
      found.push({ pid: Number(entry), name, peakRssBytes: Number(/^VmHWM:\s*(\d+)/m.exec(status)?.[1] ?? 0) * 1024 })
    } catch {
      // Gone between the listing and the read.
    }
  }
  return found
}

/** What a watch saw: the most tools at once, the highest peak memory of one, and how many distinct ones ran. */
export interface ToolWatch {
  maxAtOnce: number
  maxPeakRssBytes: number
  seen: number
  stop(): ToolWatch
}

/** Watches the media tools among this process's children every `everyMs` until `stop()`. */
export function watchTools(everyMs = 5): ToolWatch {
  const pids = new Set<number>()
  const watch: ToolWatch = {
    maxAtOnce: 0,
    maxPeakRssBytes: 0,
    seen: 0,
    stop: () => {
      clearInterval(timer)
      look()
      return watch
    },
  }
  const look = () => {
    const now = mediaChildren()
    watch.maxAtOnce = Math.max(watch.maxAtOnce, now.length)
    for (const p of now) {
      pids.add(p.pid)
      watch.maxPeakRssBytes = Math.max(watch.maxPeakRssBytes, p.peakRssBytes)
    }
    watch.seen = pids.size
  }
  const timer = setInterval(look, everyMs)
  return watch
}

export const MiB = 1024 * 1024
