// What a bridge's state looks like under $SYS, so the observability part can
// publish it without knowing the status shape (mosquitto publishes
// $SYS/broker/connection/<name>/state; this is the richer edgemq set).
import type { BridgeStatus } from './bridge.ts'

/** One $SYS message: topic and UTF-8 payload. */
export interface SysMessage {
  topic: string
  payload: string
}

/** $SYS/broker/bridges/<name>/{connected,queue/messages,queue/bytes,queue/oldestAgeSeconds,lastError} for every bridge. */
export function bridgeSysMessages (statuses: readonly BridgeStatus[]): SysMessage[] {
  const out: SysMessage[] = []
  for (const s of statuses) {
    const base = `$SYS/broker/bridges/${s.name}`
    out.push(
      { topic: `${base}/connected`, payload: s.connected ? '1' : '0' },
      { topic: `${base}/queue/messages`, payload: String(s.queue.messages) },
      { topic: `${base}/queue/bytes`, payload: String(s.queue.bytes) },
      { topic: `${base}/queue/oldestAgeSeconds`, payload: String(s.queue.oldestAgeSeconds) },
      { topic: `${base}/lastError`, payload: s.lastError ?? '' }
    )
  }
  return out
}
