// Running external MQTT tools (mosquitto_pub/sub, paho, mosquitto) from tests:
// each child is tracked, its output collected line by line, and killed on
// stop() or when the test process exits, so no test leaks a process.
import { spawn, type ChildProcess } from 'node:child_process'

const running = new Set<ChildProcess>()
process.once('exit', () => { for (const child of running) child.kill('SIGKILL') })

/** A running tool with its output so far. */
export interface ToolProcess {
  child: ChildProcess
  lines: () => string[]
  stderr: () => string
  /** Resolves with the first line matching, or rejects after timeoutMs with what was seen. */
  waitForLine: (match: RegExp | ((line: string) => boolean), timeoutMs?: number) => Promise<string>
  /** Resolves with the exit code (killing the process after timeoutMs). */
  exited: (timeoutMs?: number) => Promise<number | null>
  stop: () => Promise<void>
}

/** Starts a tool; stdout is split into lines. */
export function startTool (command: string, args: string[], options: { env?: Record<string, string> } = {}): ToolProcess {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env } })
  running.add(child)
  let out = ''
  let err = ''
  const wakers: Array<() => void> = []
  const wake = (): void => { for (const w of wakers.splice(0)) w() }
  child.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; wake() })
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { err += d })
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => { running.delete(child); wake(); resolve(code) }))
  const lines = (): string[] => out.split('\n').filter((l) => l.length > 0)
  return {
    child,
    lines,
    stderr: () => err,
    waitForLine: async (match, timeoutMs = 5000) => {
      const test = typeof match === 'function' ? match : (l: string) => match.test(l)
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const hit = lines().find(test)
        if (hit !== undefined) return hit
        const left = deadline - Date.now()
        if (left <= 0 || child.exitCode !== null) throw new Error(`${command}: no line matching ${String(match)} within ${timeoutMs} ms; stdout: ${out.slice(-500)} stderr: ${err.slice(-500)}`)
        await new Promise<void>((resolve) => { const t = setTimeout(resolve, Math.min(left, 200)); wakers.push(() => { clearTimeout(t); resolve() }) })
      }
    },
    exited: async (timeoutMs = 10_000) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
      const code = await exit
      clearTimeout(timer)
      return code
    },
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 2000)
      await exit
      clearTimeout(timer)
    }
  }
}

/** Runs a tool to completion; rejects when it exits non-zero or runs past timeoutMs. */
export async function runTool (command: string, args: string[], timeoutMs = 10_000): Promise<string> {
  const t = startTool(command, args)
  const code = await t.exited(timeoutMs)
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${code}: ${t.stderr()}`)
  return t.lines().join('\n')
}
