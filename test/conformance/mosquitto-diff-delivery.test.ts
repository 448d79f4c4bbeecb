// Differential tests against Mosquitto 2.0.11 (test/conformance/mosquitto-pair.ts),
// part 2: wills, retained messages, QoS 1/2 flows and redelivery, overlapping
// and shared subscriptions. Intended differences: test/conformance/intended-differences.ts.
import { assertSurvived, cid, connected, diffSuite, end, norm, settle, sleep, subscribed } from './mosquitto-pair.ts'

const { test, scenario } = diffSuite('differential against mosquitto: wills, retained, QoS, overlap, shared')

// ---- wills ------------------------------------------------------------------

scenario('will: published on an abnormal close, retained when asked, not after DISCONNECT [MQTT-3.1.2-8] [MQTT-3.1.2-17] [MQTT-3.14.4-3]', async (port, t) => {
  const s = await subscribed(port, 4, [{ topic: `${t}/#`, qos: 1 }])
  const a = await connected(port, 4, { will: { topic: `${t}/a`, payload: Buffer.from('dropped'), qos: 1, retain: true } })
  const b = await connected(port, 4, { will: { topic: `${t}/b`, payload: Buffer.from('clean'), qos: 1, retain: false } })
  a.destroy()
  await b.disconnect()
  const live = await s.next('publish')
  s.send({ cmd: 'puback', messageId: live.messageId })
  await sleep(300)
  const late = await subscribed(port, 4, [{ topic: `${t}/#`, qos: 1 }])
  const retained = await late.next('publish')
  late.send({ cmd: 'puback', messageId: retained.messageId })
  const clear = await connected(port, 4)
  clear.send({ cmd: 'publish', topic: `${t}/a`, payload: '', qos: 1, messageId: 1, retain: true }); await clear.next('puback')
  const out = [norm(live), norm(retained), await settle(s)]
  await s.disconnect(); await late.disconnect(); await clear.disconnect()
  return out
})

scenario('will: v5 DISCONNECT 0x04 publishes the will, 0x00 does not [MQTT-3.1.2-10]', async (port, t) => {
  const s = await subscribed(port, 5, [{ topic: `${t}/#`, qos: 0 }])
  const a = await connected(port, 5, { will: { topic: `${t}/with`, payload: Buffer.from('w'), qos: 0, retain: false } })
  const b = await connected(port, 5, { will: { topic: `${t}/without`, payload: Buffer.from('w'), qos: 0, retain: false } })
  await a.disconnect(undefined, 4)
  await b.disconnect(undefined, 0)
  const got = await settle(s, 500)
  await s.disconnect()
  return got
})

scenario('will: v5 will properties reach subscribers as PUBLISH properties only, user properties in order [MQTT-3.1.3-10]', async (port, t) => {
  const s = await subscribed(port, 5, [{ topic: `${t}/#`, qos: 1 }])
  const a = await connected(port, 5, {
    properties: { sessionExpiryInterval: 0 },
    will: { topic: `${t}/w`, payload: Buffer.from('bye'), qos: 1, retain: false, properties: { willDelayInterval: 1, contentType: 'text/plain', payloadFormatIndicator: true, userProperties: { z: '1', a: '2' }, responseTopic: `${t}/r`, correlationData: Buffer.from('c') } }
  })
  a.destroy()
  const w = await s.next('publish', 5000)
  s.send({ cmd: 'puback', messageId: w.messageId })
  await s.disconnect()
  return [norm(w), w.properties?.contentType, Object.keys(w.properties?.userProperties ?? {})]
})

scenario('will: a v5 reconnect within the Will Delay Interval cancels the will [MQTT-3.1.3-9]', async (port, t) => {
  const s = await subscribed(port, 5, [{ topic: `${t}/#`, qos: 0 }])
  const id = cid(t, 'wd')
  const will = { topic: `${t}/w`, payload: Buffer.from('late'), qos: 0, retain: false, properties: { willDelayInterval: 2 } }
  const a = await connected(port, 5, { clientId: id, properties: { sessionExpiryInterval: 30 }, will })
  a.destroy()
  await sleep(400)
  const back = await connected(port, 5, { clientId: id, clean: false, properties: { sessionExpiryInterval: 0 } })
  const got = await settle(s, 2600)
  await back.disconnect(); await s.disconnect()
  return got
})

// ---- retained -----------------------------------------------------------------

scenario('retained: delivered at min(stored, granted) QoS, re-sent on an identical re-SUBSCRIBE, untouched by RETAIN 0 [MQTT-3.8.4-3] [MQTT-3.3.1-12]', async (port, t) => {
  const p = await connected(port, 4)
  p.send({ cmd: 'publish', topic: `${t}/r`, payload: 'kept', qos: 2, messageId: 1, retain: true })
  await p.next('pubrec'); p.send({ cmd: 'pubrel', messageId: 1 }); await p.next('pubcomp')
  p.send({ cmd: 'publish', topic: `${t}/r`, payload: 'live', qos: 0, retain: false })
  const s = await subscribed(port, 4, [{ topic: `${t}/r`, qos: 1 }])
  const first = await s.next('publish')
  s.send({ cmd: 'puback', messageId: first.messageId })
  s.send({ cmd: 'subscribe', messageId: 2, subscriptions: [{ topic: `${t}/r`, qos: 2 }] })
  await s.next('suback')
  const again = await s.next('publish')
  if (again.qos === 1) s.send({ cmd: 'puback', messageId: again.messageId })
  if (again.qos === 2) { s.send({ cmd: 'pubrec', messageId: again.messageId }); await s.next('pubrel'); s.send({ cmd: 'pubcomp', messageId: again.messageId }) }
  p.send({ cmd: 'publish', topic: `${t}/r`, payload: '', qos: 0, retain: true })
  await sleep(200)
  const out = [norm(first), norm(again)]
  await s.disconnect(); await p.disconnect()
  return out
})

// ---- QoS 1/2 flows and redelivery ----------------------------------------------------------

scenario('qos2: a repeated PUBLISH before PUBREL gets PUBREC again and is delivered once [MQTT-4.3.3-2]', async (port, t) => {
  const s = await subscribed(port, 4, [{ topic: `${t}/#`, qos: 0 }])
  const p = await connected(port, 4)
  p.send({ cmd: 'publish', topic: `${t}/x`, payload: 'once', qos: 2, messageId: 7 })
  const r1 = norm(await p.next('pubrec'))
  p.send({ cmd: 'publish', topic: `${t}/x`, payload: 'once', qos: 2, messageId: 7, dup: true })
  const r2 = norm(await p.next('pubrec'))
  p.send({ cmd: 'pubrel', messageId: 7 })
  const c = norm(await p.next('pubcomp'))
  const got = await settle(s, 400)
  await s.disconnect(); await p.disconnect()
  return [r1, r2, c, got]
})

scenario('qos1: an inbound DUP=1 is not passed on to subscribers [MQTT-3.3.1-3]', async (port, t) => {
  const s = await subscribed(port, 4, [{ topic: `${t}/#`, qos: 1 }])
  const p = await connected(port, 4)
  p.send({ cmd: 'publish', topic: `${t}/d`, payload: 'dup', qos: 1, messageId: 3, dup: true }); await p.next('puback')
  const m = await s.next('publish')
  s.send({ cmd: 'puback', messageId: m.messageId })
  await s.disconnect(); await p.disconnect()
  return norm(m)
})

scenario('qos2: a PUBREL for an unknown packet id gets PUBCOMP, 3.1.1', async (port) => {
  const p = await connected(port, 4)
  p.send({ cmd: 'pubrel', messageId: 999 })
  const out = await settle(p, 500)
  const closed = p.closed
  p.destroy()
  return [out, closed]
})

scenario('qos2: a PUBREL for an unknown packet id gets PUBCOMP 0x92, 5.0', async (port) => {
  const p = await connected(port, 5)
  p.send({ cmd: 'pubrel', messageId: 999 })
  const out = await settle(p, 500)
  const closed = p.closed
  p.destroy()
  return [out, closed]
})

scenario('qos1: an unacknowledged delivery is re-sent with DUP=1 on reconnect [MQTT-4.4.0-1] [MQTT-3.3.1-1]', async (port, t) => {
  const id = cid(t, 'dup')
  const s = await subscribed(port, 4, [{ topic: `${t}/#`, qos: 1 }], { clientId: id, clean: false })
  const p = await connected(port, 4)
  p.send({ cmd: 'publish', topic: `${t}/x`, payload: 'again', qos: 1, messageId: 1 }); await p.next('puback')
  const first = await s.next('publish')
  s.destroy()
  await sleep(200)
  const back = await connected(port, 4, { clientId: id, clean: false })
  const second = await back.next('publish')
  back.send({ cmd: 'puback', messageId: second.messageId })
  await back.disconnect(); await p.disconnect()
  const cleanup = await connected(port, 4, { clientId: id, clean: true }); await cleanup.disconnect()
  return [norm(first), norm(second), second.messageId === first.messageId]
})

scenario('qos2: after PUBREC, a reconnect gets the PUBREL re-sent with the same packet id [MQTT-4.4.0-1]', async (port, t) => {
  const id = cid(t, 'rel')
  const s = await subscribed(port, 4, [{ topic: `${t}/#`, qos: 2 }], { clientId: id, clean: false })
  const p = await connected(port, 4)
  p.send({ cmd: 'publish', topic: `${t}/x`, payload: 'two', qos: 2, messageId: 1 }); await p.next('pubrec')
  p.send({ cmd: 'pubrel', messageId: 1 }); await p.next('pubcomp')
  const m = await s.next('publish')
  s.send({ cmd: 'pubrec', messageId: m.messageId })
  await s.next('pubrel')
  s.destroy()
  await sleep(200)
  const back = await connected(port, 4, { clientId: id, clean: false })
  const rel = await back.next('pubrel')
  back.send({ cmd: 'pubcomp', messageId: rel.messageId })
  const more = await settle(back)
  await back.disconnect(); await p.disconnect()
  const cleanup = await connected(port, 4, { clientId: id, clean: true }); await cleanup.disconnect()
  return [norm(m), rel.messageId === m.messageId, more]
})

scenario('qos: a PUBLISH with both QoS bits set is closed [MQTT-3.3.1-4]', async (port) => {
  const c = await connected(port, 4)
  c.write('3606000161000178') // 0x36 = PUBLISH with QoS bits 11
  return await end(c)
})

scenario('qos: a QoS 1 PUBLISH with packet id 0 is closed [MQTT-2.3.1-1]', async (port) => {
  const c = await connected(port, 4)
  c.write('320600016100007a')
  return await end(c)
})

// ---- overlapping and shared subscriptions -------------------------------------------------

scenario('overlap: TopicA/# at QoS 2 and TopicA/+ at QoS 1, a QoS 2 publish, 3.1.1 [MQTT-3.3.5-1]', async (port, t) => {
  const s = await subscribed(port, 4, [{ topic: `${t}/#`, qos: 2 }, { topic: `${t}/+`, qos: 1 }])
  const p = await connected(port, 4)
  p.send({ cmd: 'publish', topic: `${t}/x`, payload: 'ov', qos: 2, messageId: 1 }); await p.next('pubrec')
  p.send({ cmd: 'pubrel', messageId: 1 }); await p.next('pubcomp')
  await sleep(400)
  const got = s.received.filter((x) => x.cmd === 'publish').map((x) => x.qos as number).sort()
  s.destroy(); await p.disconnect()
  return got
})

scenario('overlap: v5 overlapping subscriptions with identifiers: QoS and identifiers per copy [MQTT-3.3.4-2] [MQTT-3.3.4-3]', async (port, t) => {
  const s = await connected(port, 5)
  s.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: `${t}/#`, qos: 2 }], properties: { subscriptionIdentifier: 1 } }); await s.next('suback')
  s.send({ cmd: 'subscribe', messageId: 2, subscriptions: [{ topic: `${t}/+`, qos: 1 }], properties: { subscriptionIdentifier: 2 } }); await s.next('suback')
  const p = await connected(port, 5)
  p.send({ cmd: 'publish', topic: `${t}/x`, payload: 'ov', qos: 2, messageId: 1 }); await p.next('pubrec')
  p.send({ cmd: 'pubrel', messageId: 1 }); await p.next('pubcomp')
  await sleep(400)
  const got = s.received.filter((x) => x.cmd === 'publish').map((x) => {
    const ids = x.properties?.subscriptionIdentifier
    return `q${x.qos} ids=${([] as number[]).concat(ids ?? []).sort().join('+')}`
  }).sort()
  s.destroy(); await p.disconnect()
  return got
})

scenario('shared: a shared subscription caps the QoS at its granted QoS [MQTT-4.8.2-3]', async (port, t) => {
  const s = await subscribed(port, 5, [{ topic: `$share/g/${t}/#`, qos: 0 }])
  const p = await connected(port, 5)
  p.send({ cmd: 'publish', topic: `${t}/x`, payload: 'sh', qos: 1, messageId: 1 }); await p.next('puback')
  const got = norm(await s.next('publish'))
  await s.disconnect(); await p.disconnect()
  return got
})

scenario('shared: a member with a persistent session (Session Expiry 60) gets QoS 1 and 2 messages', async (port, t) => {
  const id = cid(t, 'shp')
  const s = await subscribed(port, 5, [{ topic: `$share/g/${t}/#`, qos: 2 }], { clientId: id, properties: { sessionExpiryInterval: 60 } })
  const p = await connected(port, 5)
  p.send({ cmd: 'publish', topic: `${t}/a`, payload: 'one', qos: 1, messageId: 1 }); await p.next('puback')
  const got: string[] = []
  const m = await s.next('publish').catch(() => undefined)
  if (m !== undefined) { got.push(norm(m)); s.send({ cmd: 'puback', messageId: m.messageId }) }
  const closed = s.closed
  s.destroy(); await p.disconnect()
  const cleanup = await connected(port, 5, { clientId: id, clean: true }); await cleanup.disconnect()
  return { got, closed }
})

assertSurvived(test)

test.run()
