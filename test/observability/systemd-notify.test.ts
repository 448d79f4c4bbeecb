// Type=notify on a real unix datagram socket: a small receiver (python3, as
// systemd's own end would be) stands in for the service manager; the broker
// runs as its own process with NOTIFY_SOCKET and WATCHDOG_USEC set, as
// systemd sets them. It must send READY=1 once its listeners accept,
// WATCHDOG=1 again and again from its event loop, and STOPPING=1 on SIGTERM.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { requireTool, startBrokerProcess } from '../helpers/broker-process.ts'

const test = suite('systemd notify and watchdog')

/** A unix datagram receiver printing each message on one line (\n inside a message becomes |). */
async function startReceiver (path: string): Promise<{ messages: string[], stop: () => Promise<void> }> {
  const python = requireTool('/usr/bin/python3', 'python3')
  const script = [
    'import socket, sys',
    's = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)',
    `s.bind(${JSON.stringify(path)})`,
    'print("bound", flush=True)',
    'while True:',
    '    d = s.recv(65536)',
    '    print(d.decode("utf-8", "replace").replace("\\n", "|"), flush=True)'
  ].join('\n')
  const child: ChildProcess = spawn(python, ['-c', script], { stdio: ['ignore', 'pipe', 'inherit'] })
  const messages: string[] = []
  let buffer = ''
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the receiver did not bind')), 10_000)
    child.stdout!.on('data', (d: Buffer) => {
      buffer += d.toString()
      let nl
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl)
        buffer = buffer.slice(nl + 1)
        if (line === 'bound') { clearTimeout(timer); resolve() } else messages.push(line)
      }
    })
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`receiver exited with ${code}`)) })
  })
  return {
    messages,
    stop: async () => {
      if (child.exitCode !== null) return
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGKILL')
      await exited
    }
  }
}

const waitFor = async (what: string, check: () => boolean, ms: number): Promise<void> => {
  const until = performance.now() + ms
  while (!check()) {
    if (performance.now() > until) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

test('READY=1 once the listeners accept, WATCHDOG=1 every WatchdogSec/3, STOPPING=1 on SIGTERM', async () => {
  requireTool('systemd-notify', 'systemd')
  const dir = await mkdtemp(join(tmpdir(), 'edgemq-notify-'))
  const socketPath = join(dir, 'notify.sock')
  const receiver = await startReceiver(socketPath)
  let broker: Awaited<ReturnType<typeof startBrokerProcess>> | undefined
  try {
    broker = await startBrokerProcess({ env: { NOTIFY_SOCKET: socketPath, WATCHDOG_USEC: '900000' }, startTimeoutMs: 60_000 })
    await waitFor('READY=1', () => receiver.messages.some((m) => m.split('|').includes('READY=1')), 20_000)
    // The listener accepts at READY time (startBroker resolves after the last bind).
    const port = broker.port
    await new Promise<void>((resolve, reject) => {
      const s = connect(port, '127.0.0.1', () => { s.destroy(); resolve() })
      s.on('error', reject)
    })
    const ready = receiver.messages.find((m) => m.split('|').includes('READY=1')) ?? ''
    assert.match(ready, /STATUS=serving 1 listeners/)
    // 0.9 s watchdog: a ping every 0.3 s; wait for several (generous: the machine is shared).
    await waitFor('three WATCHDOG=1', () => receiver.messages.filter((m) => m.split('|').includes('WATCHDOG=1')).length >= 3, 20_000)
    const firstPing = receiver.messages.findIndex((m) => m.split('|').includes('WATCHDOG=1'))
    const readyAt = receiver.messages.findIndex((m) => m.split('|').includes('READY=1'))
    assert.ok(readyAt < firstPing, 'no watchdog ping before READY=1')
    assert.ok(broker.stderr().includes('systemd watchdog on'), 'the broker logs the watchdog period')

    await broker.kill('SIGTERM')
    await waitFor('STOPPING=1', () => receiver.messages.some((m) => m.split('|').includes('STOPPING=1')), 10_000)
  } finally {
    await broker?.stop()
    await receiver.stop()
    await rm(dir, { recursive: true, force: true })
  }
})

test('without NOTIFY_SOCKET nothing is sent and nothing is spawned', async () => {
  const { createSystemdNotifier } = await import('../../src/observability/systemd-notify.ts')
  const { createLogger } = await import('../../src/observability/logger.ts')
  const lines: string[] = []
  // A command that cannot exist: spawning it would log a warning.
  const n = createSystemdNotifier({ WATCHDOG_USEC: '300000' }, createLogger({ level: 'debug', sink: (l) => { lines.push(l) } }), { command: '/nonexistent/systemd-notify' })
  assert.is(n.enabled, false)
  n.ready('x')
  await new Promise((resolve) => setTimeout(resolve, 300))
  n.stopping()
  assert.equal(lines.filter((l) => l.includes('notify') || l.includes('watchdog')), [])
})

test.run()
