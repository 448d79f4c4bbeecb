// CVE-2020-13849 (SlowITe): a keepalive above limits.keepaliveMax (0 = never)
// would hold a dead connection for hours. v5 clients are told a Server Keep
// Alive instead [MQTT-3.2.2-21]; a 3.1.1 client cannot be told, so it is
// refused with "identifier rejected" as Mosquitto does (aedes's own check
// answers 6, which 3.1.1 does not define, so edgemq does this itself and
// passes keepaliveLimit 0 to aedes).

/** What to do about a CONNECT's keepalive: nothing, tell a v5 client a Server Keep Alive, or refuse a 3.1.1 one. */
export type KeepaliveBound = undefined | { serverKeepAlive: number } | { refuse: string }

/** Bounds a CONNECT's keepalive (seconds) by keepaliveMax (seconds, 0 = no bound). */
export function boundKeepalive (keepalive: number, protocolVersion: number, keepaliveMax: number): KeepaliveBound {
  if (keepaliveMax <= 0 || (keepalive !== 0 && keepalive <= keepaliveMax)) return undefined
  if (protocolVersion >= 5) return { serverKeepAlive: keepaliveMax }
  return { refuse: `keepalive ${keepalive} is above limits.keepaliveMax (${keepaliveMax} s; 0 means never)` }
}
