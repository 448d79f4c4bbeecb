// Helpers for tests that run a broker in a child process and kill it.
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const fixture = fileURLToPath(new URL('./fixtures/journal-broker.ts', import.meta.url))

/** A broker child process and its port. */
export interface BrokerProcess { child: ChildProcess, port: number, output: () => string }

/** Starts fixtures/journal-broker.ts and waits until it listens. */
export function startBroker (dbPath: string, port: number, sync: string, extra: string[] = []): Promise<BrokerProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, dbPath, String(port), sync, ...extra], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let started = false
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`broker did not start in 20 s:\n${out}`)) }, 20_000)
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
      const line = out.split('\n').find((l) => l.startsWith('{"port"'))
      if (!started && line !== undefined) {
        started = true
        clearTimeout(timer)
        resolve({ child, port: JSON.parse(line).port, output: () => out })
      }
    })
    child.stderr!.on('data', (d: Buffer) => { out += d.toString() })
    child.on('exit', (code, signal) => {
      if (!started) { clearTimeout(timer); reject(new Error(`broker exited (${code ?? signal}) before listening:\n${out}`)) }
    })
  })
}

/** SIGKILLs the broker and waits for it to be gone. */
export function killBroker (b: BrokerProcess): Promise<void> {
  return new Promise((resolve) => {
    if (b.child.exitCode !== null || b.child.signalCode !== null) { resolve(); return }
    b.child.once('exit', () => resolve())
    b.child.kill('SIGKILL')
  })
}
