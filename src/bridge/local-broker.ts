// What the bridge needs from the local broker. The composition root
// (src/broker.ts) implements it over aedes; tests implement it over a small
// aedes of their own. Kept this small on purpose.

/** A message as the bridge hands it to, or gets it from, the local broker (one definition, in src/part-context.ts). */
export type { LocalMessage } from '../part-context.ts'
import type { LocalMessage } from '../part-context.ts'

/** Publishing into the local broker (inbound bridge traffic). */
export interface LocalBroker {
  /** Publishes as the broker itself; resolves when the broker has taken the message (stored, for QoS > 0 and retained). */
  publish: (msg: LocalMessage) => Promise<void>
}
