// Override: the reason code of a refused MQTT 5 CONNACK.
//
// What aedes 2.0.0-beta.1 does: an `authenticate` callback error carries only a
// 3.1.1 return code (2-5); for a v5 client aedes maps it through a fixed table
// (lib/handlers/connect.js `connackReasonCodes`): 3 → 0x88 Server unavailable,
// 5 → 0x87, and ignores `err.reasonCode` (only a redirect may set it).
// What edgemq does instead: the broker marks the client with the v5 reason code
// its connect hooks decided (0x89 Server busy for a full waiting room, 0x8A
// Banned, 0x97 Quota exceeded, 0x9F Connection rate exceeded, ...) and the
// CONNACK re-encoder of src/protocol/aedes-v5-shims.ts writes that code.
// Why: the docs promise 0x89 for "too many logins at once" and a v5 client
// backs off differently for busy (retry soon) and unavailable (issue 15); a
// 3.1.1 client still gets return code 3, the only one 3.1.1 has for both
// [MQTT-3.2.2.3].
// Canary: test/engine/connack-reason-code.test.ts fails when the pinned aedes
// starts honouring err.reasonCode itself (then this override can go).

const REFUSAL = Symbol('edgemq.connackReasonCode')

/** Records the v5 reason code the CONNACK of this refused client must carry. */
export function setRefusalReasonCode (client: object, reasonCode: number): void {
  (client as { [REFUSAL]?: number })[REFUSAL] = reasonCode
}

/** The v5 reason code recorded for a refused client, if any. */
export function refusalReasonCodeOf (client: object): number | undefined {
  return (client as { [REFUSAL]?: number })[REFUSAL]
}
