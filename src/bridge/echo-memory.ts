// Loop prevention for MQTT 3.1.1 upstreams, which have neither no-local nor
// user properties: remember what a both-direction rule sent up, and drop an
// identical message when the upstream echoes it back down.
import { createHash } from 'node:crypto'

/** Recently forwarded messages, by hash of topic and payload, bounded in count. */
export class EchoMemory {
  private readonly max: number
  private readonly sent = new Map<string, number>()

  constructor (max = 4096) {
    this.max = max
  }

  /** Notes a message sent upstream. */
  remember (topic: string, payload: Buffer): void {
    const key = hashMessage(topic, payload)
    this.sent.set(key, (this.sent.get(key) ?? 0) + 1)
    if (this.sent.size > this.max) this.sent.delete(this.sent.keys().next().value as string)
  }

  /** Whether a message coming down is the echo of one sent up (and forgets that one). */
  isEcho (topic: string, payload: Buffer): boolean {
    if (this.sent.size === 0) return false
    const key = hashMessage(topic, payload)
    const n = this.sent.get(key)
    if (n === undefined) return false
    if (n <= 1) this.sent.delete(key); else this.sent.set(key, n - 1)
    return true
  }
}

function hashMessage (topic: string, payload: Buffer): string {
  return createHash('sha1').update(topic).update('\u0000').update(payload).digest('base64')
}
