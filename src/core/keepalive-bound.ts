// CVE-2020-13849 (SlowITe): a keepalive above limits.keepaliveMax (0 = never)
// would hold a dead connection for hours. v5 clients are told a Server Keep
// Alive instead [MQTT-3.2.2-21]. A 3.1.1 client cannot be told: by default it
// is accepted as Mosquitto 2.0 does (keepalive 0 is legal [MQTT-3.1.2-10] and
// common), and the TCP keepalive probes armed on every socket find a dead
// peer; limits.keepaliveStrict refuses it with "identifier rejected" instead
// (aedes's own check answers 6, which 3.1.1 does not define, so edgemq does
// this itself and passes keepaliveLimit 0 to aedes).

/** What to do about a CONNECT's keepalive: nothing, tell a v5 client a Server Keep Alive, or refuse a 3.1.1 one. */
export type KeepaliveBound = undefined | { serverKeepAlive: number } | { refuse: string }

/** Bounds a CONNECT's keepalive (seconds) by keepaliveMax (seconds, 0 = no bound); `strict` refuses a 3.1.1 client out of bounds. */
export function boundKeepalive (keepalive: number, protocolVersion: number, keepaliveMax: number, strict: boolean): KeepaliveBound {
  if (keepaliveMax <= 0 || (keepalive !== 0 && keepalive <= keepaliveMax)) return undefined
  if (protocolVersion >= 5) return { serverKeepAlive: keepaliveMax }
  if (!strict) return undefined
  return { refuse: `keepalive ${keepalive} is 0 or above limits.keepaliveMax (${keepaliveMax} s) and limits.keepaliveStrict is on` }
}
