// Unreleased QoS 2 messages per client (failure-modes row 10: aedes stores
// every incoming QoS 2 until its PUBREL, with no cap and no expiry). The
// tracker is pure; `watchIncomingStore` feeds it from the aedes-persistence
// calls aedes makes (incomingStorePacket on PUBLISH, incomingDelPacket on
// PUBREL) until the broker core reports PUBREL through a hook of its own.

/** Client id → message id → monotonic ms when it was stored (insertion order = arrival order). */
export class UnreleasedQos2 {
  readonly #byClient = new Map<string, Map<number, number>>()
  /** Admitted by the publish hook and not yet stored: aedes handles the packets of one socket read concurrently. */
  readonly #admitted = new Map<string, number>()
  readonly #now: () => number

  constructor (now: () => number) {
    this.#now = now
  }

  /** A QoS 2 PUBLISH passed the limits and is on its way to the store. */
  admit (clientId: string): void {
    this.#admitted.set(clientId, (this.#admitted.get(clientId) ?? 0) + 1)
  }

  /** Forgets admissions that never reached the store (the client went away). */
  forgetAdmitted (clientId: string): void {
    this.#admitted.delete(clientId)
  }

  /** A QoS 2 message was stored, waiting for its PUBREL. */
  stored (clientId: string, messageId: number): void {
    const admitted = this.#admitted.get(clientId) ?? 0
    if (admitted <= 1) this.#admitted.delete(clientId)
    else this.#admitted.set(clientId, admitted - 1)
    let m = this.#byClient.get(clientId)
    if (m === undefined) { m = new Map(); this.#byClient.set(clientId, m) }
    if (!m.has(messageId)) m.set(messageId, this.#now())
  }

  /** Its PUBREL came (or it was dropped). */
  released (clientId: string, messageId: number): void {
    const m = this.#byClient.get(clientId)
    if (m === undefined) return
    m.delete(messageId)
    if (m.size === 0) this.#byClient.delete(clientId)
  }

  /** Unreleased messages of one client, counting those admitted and not yet stored. */
  count (clientId: string): number {
    return (this.#byClient.get(clientId)?.size ?? 0) + (this.#admitted.get(clientId) ?? 0)
  }

  /** Removes and returns the messages stored longer than `maxAgeMs` ago. */
  expire (maxAgeMs: number): Array<{ clientId: string, messageId: number }> {
    const oldest = this.#now() - maxAgeMs
    const out: Array<{ clientId: string, messageId: number }> = []
    for (const [clientId, m] of this.#byClient) {
      for (const [messageId, at] of m) {
        if (at > oldest) break
        m.delete(messageId)
        out.push({ clientId, messageId })
      }
      if (m.size === 0) this.#byClient.delete(clientId)
    }
    return out
  }
}
