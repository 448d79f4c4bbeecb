// The local control socket: a unix socket (mode 0600, so only the broker's
// user and root reach it) that `edgemq ctl ...` uses to talk to the running
// broker. One JSON object per line each way.
import { chmod, rm } from 'node:fs/promises'
import { createServer, type Server, type Socket } from 'node:net'
import { EdgemqError, ERROR_CODES } from '../errors.ts'
import type { Logger } from '../observability/logger.ts'

/** A control command: takes the request's args, resolves to a JSON-able result. */
export type ControlHandler = (args: Record<string, unknown>) => Promise<unknown>

/** The registry parts add their commands to. */
export interface ControlRegistry {
  register: (command: string, handler: ControlHandler) => void
}

// A control request is small; anything longer is not ours.
const MAX_REQUEST_BYTES = 64 * 1024

/** The control socket server. */
export class ControlServer implements ControlRegistry {
  readonly #handlers = new Map<string, ControlHandler>()
  readonly #sockets = new Set<Socket>()
  #server: Server | undefined
  #path: string | undefined
  readonly #logger: Logger

  constructor (logger: Logger) {
    this.#logger = logger
    this.register('help', async () => [...this.#handlers.keys()].sort())
  }

  /** Adds a command; a second registration of the same name replaces the first (reload). */
  register (command: string, handler: ControlHandler): void {
    this.#handlers.set(command, handler)
  }

  /** Listens on `path`, replacing a stale socket file left by a crash. */
  async listen (path: string): Promise<void> {
    await rm(path, { force: true })
    const server = createServer((socket) => { this.#serve(socket) })
    const oldMask = process.umask(0o177) // the socket file is created 0600, no window where others can connect
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(path, () => { server.off('error', reject); resolve() })
      })
    } catch (err) {
      throw new EdgemqError(ERROR_CODES.CONTROL_FAILED, `cannot listen on control socket ${path}: ${(err as Error).message} (set control.socket to a writable path)`, { cause: err })
    } finally {
      process.umask(oldMask)
    }
    await chmod(path, 0o600)
    this.#server = server
    this.#path = path
  }

  /** Stops listening and removes the socket file. */
  async close (): Promise<void> {
    for (const s of this.#sockets) s.destroy()
    if (this.#server !== undefined) await new Promise<void>((resolve) => this.#server?.close(() => resolve()))
    if (this.#path !== undefined) await rm(this.#path, { force: true })
    this.#server = undefined
  }

  #serve (socket: Socket): void {
    this.#sockets.add(socket)
    socket.on('close', () => this.#sockets.delete(socket))
    socket.on('error', () => socket.destroy())
    let buffer = ''
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => {
      buffer += chunk
      if (buffer.length > MAX_REQUEST_BYTES) { socket.destroy(); return }
      let nl: number
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl)
        buffer = buffer.slice(nl + 1)
        void this.#answer(socket, line)
      }
    })
  }

  async #answer (socket: Socket, line: string): Promise<void> {
    let id: unknown
    try {
      const req = JSON.parse(line) as { id?: unknown, command?: unknown, args?: unknown }
      id = req.id
      if (typeof req.command !== 'string') throw new Error('request needs "command"')
      const handler = this.#handlers.get(req.command)
      if (handler === undefined) throw new Error(`unknown command "${req.command}": known are ${[...this.#handlers.keys()].sort().join(', ')}`)
      const args = typeof req.args === 'object' && req.args !== null ? req.args as Record<string, unknown> : {}
      const result = await handler(args)
      socket.write(JSON.stringify({ id, ok: true, result }) + '\n')
      this.#logger.info('control command', { command: req.command })
    } catch (err) {
      socket.write(JSON.stringify({ id, ok: false, error: (err as Error).message }) + '\n')
    }
  }
}
