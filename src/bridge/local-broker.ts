// What the bridge needs from the local broker. The composition root
// (src/broker.ts) implements it over aedes; tests implement it over a small
// aedes of their own. Kept this small on purpose.

/** A message as the bridge hands it to, or gets it from, the local broker. */
export interface LocalMessage {
  topic: string
  payload: Buffer
  qos: 0 | 1 | 2
  retain: boolean
  properties?: Record<string, unknown>
}

/** Publishing into the local broker (inbound bridge traffic). */
export interface LocalBroker {
  /** Publishes as the broker itself; resolves when the broker has taken the message (stored, for QoS > 0 and retained). */
  publish: (msg: LocalMessage) => Promise<void>
}
