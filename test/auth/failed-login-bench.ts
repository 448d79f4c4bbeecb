// Benchmark (not part of the default suite): what one failed login costs the
// broker under a 1,000 attempts/s brute-force attack from one IP, with the
// lockout on (the default) and off (every attempt reaches the hash queue),
// and how long a legitimate login from another IP takes meanwhile. The lockout
// is set to ban after 3 failures so the steady state is reached quickly.
//
//   node --import tsx test/auth/failed-login-bench.ts [seconds=5] [rate=1000]
//
// The broker runs in this process with the default scrypt cost (N=2^14,
// r=8); the attacker is a child process sending raw CONNECTs with wrong
// passwords at a fixed rate. CPU is this process's (all threads, so the
// libuv threadpool's hashing is included).
import { spawn } from 'node:child_process'
import { chmod, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { connectClient } from './mqtt-connect.ts'
import { hashPassword } from '../../src/auth/password-hash.ts'
import { startSecureBroker, tempDir, removeDir } from './security-broker.ts'

const seconds = Number(process.argv[2] ?? 5)
const rate = Number(process.argv[3] ?? 1000)

const ATTACKER = `
const net = require('node:net')
const [port, rate, seconds] = process.argv.slice(1).map(Number)
const { generate } = require('mqtt-packet')
let sent = 0, closed = 0, refused = 0, busy = 0, open = 0
const t0 = Date.now()
const tick = setInterval(() => {
  if (Date.now() - t0 > seconds * 1000) { clearInterval(tick); const w = setInterval(() => { if (open === 0) { clearInterval(w); console.log(JSON.stringify({ sent, closed, refused, busy })) } }, 50); return }
  for (let i = 0; i < rate / 100; i++) {
    const s = net.connect(port, '127.0.0.1'); open++; sent++
    let answered = false
    s.on('connect', () => s.write(generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 30, clientId: 'a' + sent, username: 'admin', password: Buffer.from('guess' + sent) })))
    s.on('data', (d) => { answered = true; if (d[3] === 3) busy++; else refused++; s.destroy() })
    s.on('error', () => {})
    s.on('close', () => { open--; if (!answered) closed++ })
  }
}, 10)
`

async function scenario (lockout: boolean): Promise<Record<string, unknown>> {
  const dir = await tempDir()
  const pw = join(dir, 'passwd')
  await writeFile(pw, `admin:${await hashPassword(Buffer.from('the-real-one'))}\nalice:${await hashPassword(Buffer.from('alice-pass'))}\n`, { mode: 0o600 })
  await chmod(pw, 0o600)
  const b = await startSecureBroker(`auth: { passwordFile: ${pw}, lockout: { enabled: ${String(lockout)}, ipFailures: 3 } }
listeners:
  - { name: v4, type: tcp, host: 127.0.0.1, port: 0, allowAnonymous: false }
  - { name: v6, type: tcp, host: "::1", port: 0, allowAnonymous: false }
logging: { level: info }
`, dir)
  try {
    const cpu0 = process.cpuUsage()
    const t0 = performance.now()
    const child = spawn(process.execPath, ['-e', ATTACKER, String(b.port('v4')), String(rate), String(seconds)], { stdio: ['ignore', 'pipe', 'inherit'], cwd: process.cwd() })
    let out = ''
    child.stdout.on('data', (d) => { out += d })
    const done = new Promise<void>((resolve) => child.on('close', () => resolve()))
    // Phase 1: until the ban (or half the run without lockout), nothing but the attack runs here.
    const phaseEnd = Date.now() + seconds * 500
    while (Date.now() < phaseEnd && !b.logs.some((l) => / banned ip=127\.0\.0\.1 /.test(l))) await new Promise((r) => setTimeout(r, 10))
    const banAt = performance.now() - t0
    const cpuBan = process.cpuUsage()
    const refusedBan = b.broker.stats().connectionsRefused
    const hashedBan = b.logs.filter((l) => / authentication failed ip=127\.0\.0\.1 /.test(l)).length
    // Phase 2: attack only, two seconds, to measure the cost of an attempt in the steady state.
    await new Promise((r) => setTimeout(r, 2000))
    const cpuSteady = process.cpuUsage(cpuBan)
    const refusedSteady = b.broker.stats().connectionsRefused - refusedBan
    const hashedSteady = b.logs.filter((l) => / authentication failed ip=127\.0\.0\.1 /.test(l)).length - hashedBan
    // Phase 3: legitimate logins from ::1 while the attack goes on.
    const legit: number[] = []
    while (legit.length < 5) {
      const st = performance.now()
      const c = await connectClient(`mqtt://[::1]:${b.port('v6')}`, { username: 'alice', password: 'alice-pass' })
      legit.push(performance.now() - st)
      c.end(true)
      await new Promise((r) => setTimeout(r, 100))
    }
    await done
    const cpu = process.cpuUsage(cpu0)
    const wall = performance.now() - t0
    const attack = JSON.parse(out) as { sent: number, closed: number, refused: number, busy: number }
    legit.sort((x, y) => x - y)
    const steadyAttempts = lockout ? refusedSteady : Math.max(1, Math.round(attack.sent / (wall / 1000) * 2))
    return {
      lockout,
      attemptsPerSecondSent: Math.round(attack.sent / (wall / 1000)),
      ...attack,
      hashedBeforeBan: hashedBan,
      banAfterMs: lockout ? Math.round(banAt) : undefined,
      steady: { attempts: steadyAttempts, hashed: hashedSteady, cpuMs: Math.round((cpuSteady.user + cpuSteady.system) / 1000), cpuMsPerAttempt: +((cpuSteady.user + cpuSteady.system) / 1000 / steadyAttempts).toFixed(3) },
      cpuMsTotal: Math.round((cpu.user + cpu.system) / 1000),
      legitLoginMs: legit.map((x) => Math.round(x))
    }
  } finally { await b.stop(); await removeDir(dir) }
}

console.log(JSON.stringify(await scenario(true)))
console.log(JSON.stringify(await scenario(false)))
