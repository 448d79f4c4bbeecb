// Override: the Server Keep Alive of one MQTT 5 connection.
// What aedes does: it sets `client._serverKeepAlive` (and so sends a Server
//   Keep Alive in CONNACK [MQTT-3.2.2-21] and times the connection by it) only
//   from its own `keepaliveLimit` option, whose check answers 3.1.1 clients
//   with CONNACK 6, a code 3.1.1 does not define.
// What edgemq does instead: passes keepaliveLimit 0 and bounds keepalive in
//   preConnect itself (CVE-2020-13849, SlowITe): a v5 client whose keepalive
//   is 0 or above limits.keepaliveMax is told keepaliveMax here; a 3.1.1 one is
//   refused with "identifier rejected" as Mosquitto does.
// Canary: test/engine/set-server-keep-alive.test.ts (aedes still reads the
//   field into CONNACK's serverKeepAlive and its keepalive timer).

/** The field aedes 2.0.0-beta.1 reads (lib/handlers/connect.js). */
const FIELD = '_serverKeepAlive'

/** Makes aedes announce and use `seconds` as this v5 connection's keepalive; call from preConnect. */
export function setServerKeepAlive (client: object, seconds: number): void {
  (client as Record<string, unknown>)[FIELD] = seconds
}
