// Test helper: an in-process broker with one listener of every type (tcp, tls, ws, wss), the two
// TLS ones on a throw-away self-signed certificate for 127.0.0.1, made with the openssl CLI.
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { requireTool, startBrokerInProcess, type InProcessBroker } from './broker-process.ts'

export interface FourListenerBroker {
  b: InProcessBroker
  /** The server certificate (PEM), for clients to trust. */
  cert: Buffer
  /** Stops the broker and removes the certificate folder. */
  stop: () => Promise<void>
}

/** Starts the broker with `limits` as the config's limits block (a flow mapping, e.g. `{ maxPacketSize: 4096 }`). */
export async function startFourListenerBroker (limits: string): Promise<FourListenerBroker> {
  const openssl = requireTool('openssl', 'openssl')
  const dir = await mkdtemp(join(tmpdir(), 'edgemq-listeners-'))
  const cert = join(dir, 'cert.pem')
  const key = join(dir, 'key.pem')
  await promisify(execFile)(openssl, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-days', '2'])
  const b = await startBrokerInProcess([
    'listeners:',
    '  - { name: tcp, type: tcp, host: 127.0.0.1, port: 0 }',
    `  - { name: tls, type: tls, host: 127.0.0.1, port: 0, cert: ${cert}, key: ${key}, allowAnonymous: true }`,
    '  - { name: ws, type: ws, host: 127.0.0.1, port: 0, path: /mqtt }',
    `  - { name: wss, type: wss, host: 127.0.0.1, port: 0, path: /mqtt, cert: ${cert}, key: ${key}, allowAnonymous: true }`,
    `limits: ${limits}`,
    'sys: { interval: 0 }'
  ].join('\n'))
  return {
    b,
    cert: await readFile(cert),
    stop: async () => {
      await b.stop()
      await rm(dir, { recursive: true, force: true })
    }
  }
}
