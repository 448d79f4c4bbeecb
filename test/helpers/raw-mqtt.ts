// A raw MQTT connection for conformance tests: packets are generated and parsed
// with mqtt-packet and written to a real loopback socket, so a test can send
// exactly the bytes a clause talks about and see exactly what came back.
import { connect, type Socket } from 'node:net'
import mqttPacket from 'mqtt-packet'

/** A parsed packet as mqtt-packet returns it (loosely typed on purpose). */
export type AnyPacket = Record<string, any> & { cmd: string }

/** One raw MQTT connection with a queue of received packets. */
export class RawMqtt {
  readonly socket: Socket
  readonly version: 3 | 4 | 5
  readonly received: AnyPacket[] = []
  closed = false
  private readonly waiters: Array<() => void> = []
  private parseError: Error | undefined

  private constructor (socket: Socket, version: 3 | 4 | 5) {
    this.socket = socket
    this.version = version
    const parser = mqttPacket.parser({ protocolVersion: version })
    parser.on('packet', (p: AnyPacket) => { this.received.push(p); this.wake() })
    parser.on('error', (err: Error) => { this.parseError = err; this.wake() })
    socket.on('data', (buf) => parser.parse(buf))
    socket.on('close', () => { this.closed = true; this.wake() })
    socket.on('error', () => {})
  }

  /** Opens a TCP connection to 127.0.0.1:port. */
  static async open (port: number, version: 3 | 4 | 5 = 4): Promise<RawMqtt> {
    return await new Promise((resolve, reject) => {
      const s = connect(port, '127.0.0.1', () => { s.off('error', reject); resolve(new RawMqtt(s, version)) })
      s.once('error', reject)
    })
  }

  /** Opens, sends CONNECT and waits for the CONNACK; returns both. */
  static async connected (port: number, version: 3 | 4 | 5, connect: Record<string, unknown> = {}): Promise<{ c: RawMqtt, connack: AnyPacket }> {
    const c = await RawMqtt.open(port, version)
    c.send({ cmd: 'connect', protocolId: version === 3 ? 'MQIsdp' : 'MQTT', protocolVersion: version, clean: true, keepalive: 60, clientId: `raw-${Math.random().toString(16).slice(2, 10)}`, ...connect })
    const connack = await c.next('connack')
    return { c, connack }
  }

  /** Serializes and writes one packet. */
  send (packet: Record<string, unknown>): void {
    this.socket.write(mqttPacket.generate(packet as unknown as mqttPacket.Packet, { protocolVersion: this.version }))
  }

  /** Writes raw bytes (hex string or Buffer). */
  write (bytes: Buffer | string): void {
    this.socket.write(typeof bytes === 'string' ? Buffer.from(bytes, 'hex') : bytes)
  }

  /** Resolves with the next received packet of that command (removed from the queue), or rejects after timeoutMs. */
  async next (cmd: string, timeoutMs = 3000): Promise<AnyPacket> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const i = this.received.findIndex((p) => p.cmd === cmd)
      if (i >= 0) return this.received.splice(i, 1)[0]
      if (this.closed) throw new Error(`connection closed while waiting for ${cmd}; received: ${this.describe()}`)
      if (this.parseError !== undefined) throw new Error(`cannot parse what the broker sent: ${this.parseError.message}`)
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`no ${cmd} within ${timeoutMs} ms; received: ${this.describe()}`)
      await new Promise<void>((resolve) => { const t = setTimeout(resolve, left); this.waiters.push(() => { clearTimeout(t); resolve() }) })
    }
  }

  /** Resolves true if no packet of that command arrives within ms. */
  async nothing (cmd: string, ms: number): Promise<boolean> {
    try { await this.next(cmd, ms); return false } catch { return true }
  }

  /** Resolves when the broker closes the connection; rejects after timeoutMs. */
  async closedByBroker (timeoutMs = 3000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (!this.closed) {
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`the broker did not close the connection within ${timeoutMs} ms; received: ${this.describe()}`)
      await new Promise<void>((resolve) => { const t = setTimeout(resolve, left); this.waiters.push(() => { clearTimeout(t); resolve() }) })
    }
  }

  /** Closes the socket without DISCONNECT (an abnormal close). */
  destroy (): void { this.socket.destroy() }

  /** Sends DISCONNECT and ends the socket. */
  async disconnect (properties?: Record<string, unknown>, reasonCode?: number): Promise<void> {
    if (!this.closed) {
      this.send({ cmd: 'disconnect', ...(reasonCode === undefined ? {} : { reasonCode }), ...(properties === undefined ? {} : { properties }) })
      this.socket.end()
      await this.closedByBroker().catch(() => { this.socket.destroy() })
    }
  }

  private describe (): string {
    return this.received.map((p) => p.cmd).join(',') || 'nothing'
  }

  private wake (): void {
    for (const w of this.waiters.splice(0)) w()
  }
}
