// Override: the properties of the PUBLISH that carries a client's will.
// What aedes 2.0.0-beta.1 does: `publishWill(client, will)` (and the sweep of
//   stored wills, `_clearWills`, over `persistence.streamWill`) publishes the
//   will packet built from CONNECT as it is, with the CONNECT's will
//   properties. Those include the Will Delay Interval (0x18), which MQTT 5.0
//   §3.1.3.2 defines for the will only and §3.3.2.3 does not allow in a
//   PUBLISH: a strict v5 subscriber treats the PUBLISH as malformed and closes,
//   so it never sees the will (issue 9).
// What edgemq does instead: before a will is published, its properties are cut
//   down to those a PUBLISH may carry (content type, expiry, payload format,
//   response topic, correlation data, user properties). The packet object
//   stays the same (broker.ts recognises a will by identity), only its
//   `properties` are replaced. The Will Delay Interval was already read by
//   then (aedes schedules the will from it, capped by the session expiry, so
//   the will goes at the earlier of the two [MQTT-3.1.3-9]).
// Canary: test/engine/strip-will-properties.test.ts.
import type { Readable } from 'node:stream'

/** Properties a PUBLISH may carry [MQTT 5.0 §3.3.2.3]; a will's other ones stay behind. */
const PUBLISH_PROPERTIES = new Set(['payloadFormatIndicator', 'messageExpiryInterval', 'topicAlias', 'responseTopic', 'correlationData', 'userProperties', 'subscriptionIdentifier', 'contentType'])

type WillPacket = { properties?: Record<string, unknown> | null }

/** The aedes members this override wraps. */
interface WillInternals {
  publishWill: (client: unknown, will: WillPacket) => void
  persistence: { streamWill: (brokers: unknown) => Readable }
}

/** Replaces a will's properties with only those a PUBLISH may carry; returns the same packet. */
export function keepPublishProperties<T extends WillPacket> (will: T): T {
  const props = will.properties
  if (props === undefined || props === null) return will
  let foreign = false
  for (const name in props) if (!PUBLISH_PROPERTIES.has(name)) { foreign = true; break }
  if (!foreign) return will
  const kept: Record<string, unknown> = {}
  for (const name in props) if (PUBLISH_PROPERTIES.has(name)) kept[name] = props[name]
  will.properties = kept
  return will
}

/** Installs the override on an aedes instance (after listen(), before the first connection). */
export function installStripWillProperties (aedes: unknown): void {
  const broker = aedes as WillInternals
  const publishWill = broker.publishWill.bind(broker)
  broker.publishWill = (client, will) => { publishWill(client, keepPublishProperties(will)) }
  const persistence = broker.persistence
  const streamWill = persistence.streamWill.bind(persistence)
  persistence.streamWill = (brokers) => streamWill(brokers).map((will: WillPacket) => keepPublishProperties(will))
}
