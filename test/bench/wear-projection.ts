// Flash wear of a day from a measured window (issue 11): pure arithmetic, so
// what the harness claims about a day is stated and unit-tested in one place.
//
// A broker that writes as it goes (edgemq: its LevelDB log, a sync per
// second) is projected by scaling the window's write_bytes to 86,400 s. A
// broker that saves a snapshot on a timer (Mosquitto: `autosave_interval`,
// 1800 s by default, and on exit) writes next to nothing in the window; its
// day is the window scaled plus one snapshot per interval, each the size of
// the one it wrote at shutdown (the queue of the load is empty then, so later
// snapshots are about as big).

export const SECONDS_PER_DAY = 86_400

/** What was measured over one window of steady load. */
export interface WearWindow {
  /** write_bytes during the window. */
  windowBytes: number
  windowSeconds: number
  /** QoS 1 messages acknowledged to their publishers during the window. */
  messages: number
  /** write_bytes of one periodic snapshot (Mosquitto: its save at shutdown); 0 when there is none. */
  snapshotBytes: number
  /** Seconds between snapshots (Mosquitto's autosave_interval); 0: the broker takes none. */
  snapshotIntervalS: number
}

/** Bytes per message in the window and bytes in a day of the same load. */
export interface WearDay {
  bytesPerMsg: number
  /** The window scaled to a day. */
  streamBytesPerDay: number
  /** Snapshots a day times their size. */
  snapshotBytesPerDay: number
  bytesPerDay: number
  messagesPerDay: number
}

/** Projects a day of the window's load; throws on a window that cannot be scaled. */
export function projectWearDay (w: WearWindow): WearDay {
  if (!(w.windowSeconds > 0)) throw new RangeError(`the window must last more than 0 s: got ${w.windowSeconds}`)
  if (!(w.messages > 0)) throw new RangeError(`no message was acknowledged in the window: nothing to divide by (got ${w.messages})`)
  if (w.windowBytes < 0 || w.snapshotBytes < 0) throw new RangeError('write counters only grow: a negative difference means the wrong process was read')
  const scale = SECONDS_PER_DAY / w.windowSeconds
  const streamBytesPerDay = Math.round(w.windowBytes * scale)
  const snapshots = w.snapshotIntervalS > 0 ? Math.floor(SECONDS_PER_DAY / w.snapshotIntervalS) : 0
  const snapshotBytesPerDay = snapshots * w.snapshotBytes
  return {
    bytesPerMsg: Math.round(w.windowBytes / w.messages),
    streamBytesPerDay,
    snapshotBytesPerDay,
    bytesPerDay: streamBytesPerDay + snapshotBytesPerDay,
    messagesPerDay: Math.round(w.messages * scale)
  }
}
