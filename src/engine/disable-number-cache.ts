// Override: mqtt-packet's cache of two-byte numbers, for the whole process.
// What mqtt-packet 9.0.2 does: the first writeToStream call (the first
//   CONNACK) fills numbers.js's cache with one Buffer per number 0..65535
//   (generateCache) and keeps it for the life of the process, to write packet
//   ids and lengths without an allocation. 65,536 Buffer objects: a heap
//   snapshot of edgemq with 2,000 idle clients showed them as 32.8 Buffers
//   "per connection" (~3.1 KiB at 2,000, 6.5 at 1,000), all of them this
//   cache, ~6.5 MiB of heap and RSS that every broker pays after its first
//   client.
// What edgemq does instead: turns it off with mqtt-packet's own switch
//   (`writeToStream.cacheNumbers = false`): a number is allocated (2 bytes)
//   when written. MQTT 3.1/3.1.1 PUBLISH and acknowledgements, the hot path,
//   do not come here (install-publish-encoder.ts); what does is MQTT 5 and the
//   rarer packets (SUBACK, UNSUBACK, ...).
// Canary: test/engine/disable-number-cache.test.ts (the switch still exists,
//   and with it off a CONNACK and a SUBACK leave the cache empty).

/** The part of the mqtt-packet module this override uses. */
interface NumberCacheSwitch {
  writeToStream: { cacheNumbers: boolean }
}

/** Turns mqtt-packet's number cache off (before the first packet is written). */
export function disableNumberCache (mqttPacket: NumberCacheSwitch): void {
  mqttPacket.writeToStream.cacheNumbers = false
}
