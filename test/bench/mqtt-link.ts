// One raw MQTT connection of the load generator: a socket, a frame reader, and
// just enough protocol to connect and subscribe. Everything after that is the
// scenario's own frame handler, so the hot path has no per-packet objects.
import { connect, type Socket } from 'node:net'
import { DISCONNECT_BYTES, FrameReader, PACKET, encodeConnect, encodeSubscribe, type FrameHandler } from './mqtt-wire.ts'

/** The keepalive every link sends: 10 minutes, so no PINGREQ is ever due during a scenario. */
export const LONG_KEEPALIVE_S = 600

/** What a link needs to connect. */
export interface LinkOptions {
  port: number
  clientId: string
  clean?: boolean
  /**
   * Seconds; default 600: long enough that no PINGREQ is due during a run, and
   * the largest edgemq accepts (limits.keepaliveMax; aedes refuses 0, "no
   * keepalive", once a limit is set).
   */
  keepalive?: number
  /** Called for every packet but CONNACK and SUBACK. */
  onFrame?: FrameHandler
  /** Called after each received chunk has been framed: the place to flush batched PUBACKs. */
  afterChunk?: (link: MqttLink) => void
  timeoutMs?: number
}

/** A connected raw MQTT 3.1.1 client. */
export class MqttLink {
  readonly socket: Socket
  readonly clientId: string
  /** Whether the broker said it kept a session for this client id (CONNACK flag). */
  sessionPresent = false
  onFrame: FrameHandler
  afterChunk: ((link: MqttLink) => void) | undefined
  private readonly reader = new FrameReader()
  private subackWaiters = new Map<number, (granted: number) => void>()
  private nextSubscribeId = 1
  private closedError: Error | undefined

  private constructor (socket: Socket, options: LinkOptions, onConnack: (code: number, present: boolean) => void) {
    this.socket = socket
    this.clientId = options.clientId
    this.onFrame = options.onFrame ?? (() => {})
    this.afterChunk = options.afterChunk
    const dispatch: FrameHandler = (type, flags, buf, start, end) => {
      if (type === PACKET.CONNACK) onConnack(buf[start + 1], (buf[start] & 1) === 1)
      else if (type === PACKET.SUBACK) {
        const id = buf.readUInt16BE(start)
        this.subackWaiters.get(id)?.(buf[start + 2])
        this.subackWaiters.delete(id)
      } else this.onFrame(type, flags, buf, start, end)
    }
    socket.on('data', (chunk: Buffer) => {
      this.reader.feed(chunk, dispatch)
      this.afterChunk?.(this)
    })
    socket.on('error', (err) => { this.closedError = err })
    socket.on('close', () => {
      this.closedError ??= new Error(`connection of ${this.clientId} closed by the broker`)
      for (const waiter of this.subackWaiters.values()) waiter(0x80)
      this.subackWaiters.clear()
    })
  }

  /** Opens a TCP connection to 127.0.0.1:port and waits for a successful CONNACK. */
  static open (options: LinkOptions): Promise<MqttLink> {
    const timeoutMs = options.timeoutMs ?? 15_000
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port: options.port, noDelay: true })
      const timer = setTimeout(() => fail(new Error(`no CONNACK for ${options.clientId} within ${timeoutMs} ms`)), timeoutMs)
      let settled = false
      const fail = (err: Error): void => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        socket.destroy()
        reject(err)
      }
      const link = new MqttLink(socket, options, (code, present) => {
        if (settled) return
        if (code !== 0) { fail(new Error(`CONNACK return code ${code} for ${options.clientId}`)); return }
        settled = true
        clearTimeout(timer)
        link.sessionPresent = present
        resolve(link)
      })
      socket.once('error', fail)
      socket.once('close', () => fail(new Error(`connection of ${options.clientId} closed before CONNACK`)))
      socket.once('connect', () => socket.write(encodeConnect(options.clientId, options.clean ?? true, options.keepalive ?? LONG_KEEPALIVE_S)))
    })
  }

  /** Subscribes to one filter and waits for the SUBACK; fails when the broker refuses it. */
  subscribe (topic: string, qos: 0 | 1, timeoutMs = 15_000): Promise<void> {
    if (this.closedError !== undefined) return Promise.reject(this.closedError)
    const id = this.nextSubscribeId++
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no SUBACK for ${this.clientId} on ${topic} within ${timeoutMs} ms`)), timeoutMs)
      this.subackWaiters.set(id, (granted) => {
        clearTimeout(timer)
        if (granted === 0x80) reject(new Error(`subscription of ${this.clientId} to ${topic} refused or connection lost`))
        else resolve()
      })
      this.socket.write(encodeSubscribe(id, topic, qos))
    })
  }

  /** Sends DISCONNECT (the session stays if it was not clean) and closes the socket. */
  disconnect (): void {
    if (this.socket.destroyed) return
    this.socket.end(DISCONNECT_BYTES)
  }

  /** Resolves when the socket has closed (after DISCONNECT the broker closes it), or after `timeoutMs`. */
  closed (timeoutMs = 10_000): Promise<boolean> {
    if (this.socket.closed) return Promise.resolve(true)
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs)
      this.socket.once('close', () => { clearTimeout(timer); resolve(true) })
    })
  }

  /** Drops the connection with a TCP reset: no TIME_WAIT left on the client's port. */
  reset (): void {
    if (!this.socket.destroyed) this.socket.resetAndDestroy()
  }
}

/** Runs `task` over 0..count-1 with at most `concurrency` at a time; keeps the results in order. */
export async function mapLimit<T> (count: number, concurrency: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const results = new Array<T>(count)
  let next = 0
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, async () => {
    while (next < count) {
      const i = next++
      results[i] = await task(i)
    }
  }))
  return results
}
