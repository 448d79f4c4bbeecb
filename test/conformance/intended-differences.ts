// The one table of intended differences between edgemq and Mosquitto 2.0.11
// in the differential tests (test/conformance/mosquitto-diff-*.test.ts), keyed
// by scenario name. Each entry pins what both brokers do, so a change on
// either side fails the scenario, and says why edgemq differs: a security
// default, a spec choice, or a Mosquitto bug. docs/conformance.md explains
// every entry ("Intended differences from Mosquitto"); test/conformance/
// matrix.test.ts checks that each entry is a scenario and is explained there.

/** What each broker does in a scenario that differs on purpose, and why. */
export interface IntendedDifference {
  mosquitto: unknown
  /** edgemq's transcript, or edgemqOneOf when the spec allows several answers. */
  edgemq?: unknown
  edgemqOneOf?: unknown[]
  why: string
}

/**
 * Every intended difference from Mosquitto 2.0.11, keyed by scenario name:
 * what each broker does and why edgemq differs. docs/conformance.md explains
 * the same entries; keep the two in step.
 */
export const INTENDED_DIFFERENCES: Record<string, IntendedDifference> = {
  'keepalive: v5 keepalive 1000 is capped with Server Keep Alive': {
    mosquitto: [0, null],
    edgemq: [0, 600],
    why: 'security default: limits.keepaliveMax 600 s bounds how long a dead v5 connection holds its slot (SlowITe, CVE-2020-13849); MQTT 5.0 §3.2.2.3.14 lets the server impose a Server Keep Alive, which the client must use, so no client is refused'
  },
  'v5: more unacknowledged QoS 2 PUBLISH than the Receive Maximum is DISCONNECT 0x93': {
    mosquitto: { max: 20, withinMax: true, other: ['pubrec 151'], closed: false },
    edgemq: { max: 20, withinMax: true, other: ['disconnect 147'], closed: true },
    why: 'Mosquitto bug: MQTT 5.0 §3.3.4 has the server answer a client over its Receive Maximum with DISCONNECT 0x93 (Receive Maximum exceeded); 2.0.11 refuses the extra message with PUBREC 0x97 (quota exceeded) and keeps the connection'
  },
  'connect: v5 Session Expiry Interval given twice is a protocol error': {
    mosquitto: { got: [], closed: true },
    edgemq: { got: ['connack 130 sp0'], closed: true },
    why: 'spec choice: MQTT 5.0 §4.13.1 lets the server send CONNACK 0x82 before closing; edgemq tells the client why (docs/mqtt5.md, "Where the spec leaves a choice"), Mosquitto closes without a CONNACK'
  },
  'v5: a Response Topic with a wildcard is closed [MQTT-3.3.2-14]': {
    mosquitto: { got: ['puback 16'], closed: false },
    edgemq: { got: [], closed: true },
    why: 'Mosquitto bug: [MQTT-3.3.2-14] forbids wildcards in a Response Topic; 2.0.11 accepts and forwards it, edgemq closes the connection'
  },
  'overlap: TopicA/# at QoS 2 and TopicA/+ at QoS 1, a QoS 2 publish, 3.1.1 [MQTT-3.3.5-1]': {
    mosquitto: [1],
    edgemqOneOf: [[2], [1, 2]],
    why: 'Mosquitto bug: 2.0.11 sends one copy at the QoS of one matching subscription (1), where MQTT 3.1.1 §3.3.5 [MQTT-3.3.5-1] asks for the maximum QoS of all matching subscriptions (one copy at 2, or one copy per subscription at min(2, granted))'
  },
  'overlap: v5 overlapping subscriptions with identifiers: QoS and identifiers per copy [MQTT-3.3.4-2] [MQTT-3.3.4-3]': {
    mosquitto: ['q1 ids=2', 'q2 ids=1'],
    edgemqOneOf: [['q1 ids=2', 'q2 ids=1'], ['q2 ids=1+2']],
    why: 'spec choice: MQTT 5.0 §3.3.4 allows one copy per subscription (what Mosquitto does) or one copy at the highest QoS carrying every identifier (what the spec prefers); either is accepted here'
  },
  'session: a v5 takeover sends the old connection DISCONNECT 0x8E [MQTT-3.1.4-3]': {
    mosquitto: { got: [], closed: true },
    edgemq: { got: ['disconnect 142'], closed: true },
    why: 'Mosquitto bug: [MQTT-3.1.4-3] has the server send DISCONNECT 0x8E (session taken over) to the old connection; 2.0.11 closes it without one'
  },
  'connect: v5 Receive Maximum 0 is a protocol error': {
    mosquitto: { got: [], closed: true },
    edgemq: { got: ['connack 130 sp0'], closed: true },
    why: 'spec choice: both close; [MQTT-3.1.4-1] lets the server send a CONNACK >= 0x80 first, and edgemq does (0x82 protocol error) so the client can log why'
  },
  'connect: v5 Maximum Packet Size 0 is a protocol error': {
    mosquitto: { got: [], closed: true },
    edgemq: { got: ['connack 130 sp0'], closed: true },
    why: 'spec choice: both close; [MQTT-3.1.4-1] lets the server send a CONNACK >= 0x80 first, and edgemq does (0x82 protocol error) so the client can log why'
  },
  'v5: a Topic Alias of 0 is a protocol error [MQTT-3.3.2-8]': {
    mosquitto: { got: ['disconnect 129'], closed: true },
    edgemq: { got: ['disconnect 148'], closed: true },
    why: 'spec choice: MQTT 5.0 §3.3.2.3.4 names 0x94 (Topic Alias invalid) for an alias of 0; Mosquitto says 0x81 (malformed)'
  },
  'error: a v5 PUBLISH with a wildcard in its topic is closed [MQTT-3.3.2-2]': {
    mosquitto: { got: ['disconnect 130'], closed: true },
    edgemq: { got: ['disconnect 144'], closed: true },
    why: 'spec choice: 0x90 (Topic Name invalid) says exactly what was wrong; Mosquitto says 0x82 (protocol error); both close'
  },
  'error: a v5 Subscription Identifier of 0 is a protocol error': {
    mosquitto: { got: ['disconnect 129'], closed: true },
    edgemq: { got: ['disconnect 130'], closed: true },
    why: 'spec choice: MQTT 5.0 §3.8.2.1.2 calls a Subscription Identifier of 0 a Protocol Error (0x82); Mosquitto says 0x81 (malformed)'
  },
  'error: a v5 PUBACK carrying a Topic Alias property is a protocol error': {
    mosquitto: { got: [], closed: true },
    edgemq: { got: ['disconnect 129'], closed: true },
    why: 'spec choice: a property the packet may not carry makes it a Malformed Packet (MQTT 5.0 §2.2.2.2); edgemq sends DISCONNECT 0x81 before closing, Mosquitto closes silently'
  },
  'error: a v5 PUBREL whose Reason String is cut short is malformed': {
    mosquitto: { got: [], closed: true },
    edgemq: { got: ['disconnect 129'], closed: true },
    why: 'spec choice: MQTT 5.0 §4.13 lets the server send DISCONNECT 0x81 before closing on a malformed packet; edgemq does, Mosquitto closes silently'
  },
  'error: a v5 DISCONNECT with reserved flags set is malformed [MQTT-3.14.1-1]': {
    mosquitto: { got: [], closed: true },
    edgemq: { got: ['disconnect 129'], closed: true },
    why: 'Mosquitto bug: [MQTT-3.14.1-1] says non-zero reserved bits get DISCONNECT 0x81; 2.0.11 closes without it'
  },
  'error: a Remaining Length of five bytes is malformed': {
    mosquitto: { got: [], closed: true },
    edgemq: { got: ['disconnect 129'], closed: true },
    why: 'spec choice: MQTT 5.0 §4.13 lets the server send DISCONNECT 0x81 before closing on a malformed packet; edgemq does, Mosquitto closes silently'
  }
}
