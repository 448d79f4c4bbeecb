// The read-only status page: one static HTML page, its script and its style,
// no framework and nothing fetched from elsewhere (a gateway is often
// offline, and the CSP forbids it). The script reads /api/v1/status and
// /api/v1/clients every 5 s and writes text only (textContent: client ids
// and user names are attacker-chosen). Narrow screens get one column.

/** GET / */
export const STATUS_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>edgemq status</title>
<link rel="stylesheet" href="/status.css">
<script src="/status.js" defer></script>
</head>
<body>
<header>
  <h1>edgemq <span id="version"></span></h1>
  <p><span id="ready" class="pill">…</span> <span id="board"></span> · up <span id="uptime">-</span> · <span id="updated">loading</span></p>
</header>
<main>
  <section id="overview" class="cards"></section>
  <section><h2>Listeners</h2><table id="listeners"><thead><tr><th>name</th><th>type</th><th>address</th><th>state</th></tr></thead><tbody></tbody></table></section>
  <section><h2>Bridges</h2><table id="bridges"><thead><tr><th>name</th><th>state</th><th>queued</th><th>oldest</th><th>forwarded</th><th>acked</th><th>last error</th></tr></thead><tbody></tbody></table></section>
  <section>
    <h2>Clients <span id="clients-count"></span></h2>
    <form id="client-search" role="search"><input id="q" type="search" placeholder="search id, user or IP" autocomplete="off" aria-label="search clients"></form>
    <table id="clients"><thead><tr><th>client id</th><th>user</th><th>IP</th><th>listener</th><th>MQTT</th><th>connected</th></tr></thead><tbody></tbody></table>
    <p class="pager"><button id="prev" type="button">‹ prev</button> <span id="page">-</span> <button id="next" type="button">next ›</button></p>
  </section>
  <section><h2>Bans</h2><table id="bans"><thead><tr><th>address</th><th>reason</th><th>time left</th></tr></thead><tbody></tbody></table></section>
  <section><h2>Throttles</h2><table id="throttles"><thead><tr><th>client</th><th>listener</th><th>wait (all packets)</th><th>dropped out</th></tr></thead><tbody></tbody></table></section>
  <section class="cards" id="resources"></section>
  <section><h2>Certificates</h2><table id="certificates"><thead><tr><th>owner</th><th>file</th><th>expires</th><th>days left</th></tr></thead><tbody></tbody></table></section>
</main>
<footer>read-only · refreshes every 5 s · <a href="/metrics">/metrics</a> · <a href="/api/v1/">/api/v1/</a></footer>
</body>
</html>
`

/** GET /status.js */
export const STATUS_JS = `'use strict'
;(() => {
  const PAGE = 25
  let offset = 0
  let query = ''
  const $ = (id) => document.getElementById(id)
  const text = (el, value) => { el.textContent = value == null ? '' : String(value) }
  const ago = (s) => s == null ? '-' : s < 90 ? s + ' s' : s < 5400 ? Math.round(s / 60) + ' min' : s < 172800 ? Math.round(s / 3600) + ' h' : Math.round(s / 86400) + ' d'
  const bytes = (n) => n == null ? '-' : n < 1024 ? n + ' B' : n < 1048576 ? (n / 1024).toFixed(1) + ' KiB' : (n / 1048576).toFixed(1) + ' MiB'
  const rows = (id, items, cells, empty) => {
    const body = $(id).tBodies[0]
    const labels = [...$(id).tHead.rows[0].cells].map((th) => th.textContent)
    const out = []
    for (const item of items) {
      const tr = document.createElement('tr')
      for (const c of cells(item)) {
        const td = document.createElement('td')
        td.dataset.label = labels[tr.children.length] || ''
        if (c && typeof c === 'object') { text(td, c.text); if (c.cls) td.className = c.cls } else text(td, c)
        tr.appendChild(td)
      }
      out.push(tr)
    }
    if (out.length === 0) {
      const tr = document.createElement('tr'); const td = document.createElement('td')
      td.colSpan = $(id).tHead.rows[0].cells.length; td.className = 'empty'; text(td, empty); tr.appendChild(td); out.push(tr)
    }
    body.replaceChildren(...out)
  }
  const card = (label, value, cls) => {
    const d = document.createElement('div'); d.className = 'card' + (cls ? ' ' + cls : '')
    const v = document.createElement('b'); text(v, value)
    const l = document.createElement('span'); text(l, label)
    d.append(v, l); return d
  }
  const get = async (path) => {
    const r = await fetch(path, { credentials: 'same-origin', cache: 'no-store' })
    if (!r.ok) throw new Error(path + ': HTTP ' + r.status)
    return await r.json()
  }
  const showStatus = (s) => {
    text($('version'), s.broker.version)
    text($('board'), s.board ? 'board ' + s.board.name : '')
    text($('uptime'), ago(s.broker.uptimeSeconds))
    const ready = $('ready'); text(ready, s.broker.ready ? 'ready' : 'not ready'); ready.className = 'pill ' + (s.broker.ready ? 'ok' : 'bad')
    const c = s.counts
    $('overview').replaceChildren(
      card('clients', c.clientsConnected), card('received', c.messagesReceived), card('sent', c.messagesSent),
      card('dropped', c.messagesDropped, c.messagesDropped > 0 ? 'warn' : ''), card('refused', c.connectsRefused),
      card('retained', c.retainedMessages), card('sessions', c.sessions), card('inflight', c.inflightMessages),
      card('offline queues', c.offlineQueueMessages == null ? 'counting' : c.offlineQueueMessages + ' (' + bytes(c.offlineQueueBytes) + ')'), card('loop delay p99', (c.eventLoopDelayP99Seconds * 1000).toFixed(1) + ' ms'))
    rows('listeners', s.listeners, (l) => [l.name, l.type, l.host + ':' + l.port, { text: l.bound ? 'bound' : 'down', cls: l.bound ? 'ok' : 'bad' }], 'no listeners')
    rows('bridges', s.bridges, (b) => [b.name, { text: !b.enabled ? 'disabled' : b.connected ? 'connected' : 'down', cls: !b.enabled ? '' : b.connected ? 'ok' : 'bad' },
      b.queue.messages + ' (' + bytes(b.queue.bytes) + ')', ago(b.queue.oldestAgeSeconds), b.counters.enqueued, b.counters.delivered,
      b.lastError ? b.lastError + ' (' + ago(b.lastErrorAgeSeconds) + ' ago)' : '-'], 'no bridges configured')
    rows('bans', s.bans, (b) => [b.ip, b.reason, ago(b.secondsLeft)], 'nobody is banned')
    const t = s.throttles || { clients: [] }
    rows('throttles', t.clients, (x) => [x.id, x.listener, ago(Math.round(x.pausedMs / 1000)), x.outboundDropped], 'no client is being throttled')
    const m = s.memory || {}; const st = s.store || {}
    $('resources').replaceChildren(
      card('memory (' + (m.state || '-') + ')', bytes(m.usedBytes) + ' of ' + bytes(m.capBytes), m.state === 'ok' ? '' : 'warn'),
      card('soft / hard mark', bytes(m.softMarkBytes) + ' / ' + bytes(m.hardMarkBytes)),
      card('store (' + (st.sync || '-') + ')', bytes(st.sizeBytes), st.open ? '' : 'bad'),
      card('journal pending', st.journalPending == null ? '-' : st.journalPending))
    rows('certificates', s.certificates, (x) => [x.owner + ' ' + x.name, x.file, x.error ? x.error : x.notAfter, { text: x.daysLeft == null ? '-' : x.daysLeft, cls: x.daysLeft != null && x.daysLeft < 14 ? 'bad' : '' }], 'no certificates')
  }
  const showClients = (p) => {
    text($('clients-count'), '(' + p.matched + (p.matched === p.total ? '' : ' of ' + p.total) + ')')
    rows('clients', p.clients, (c) => [c.id, c.user || '-', c.ip, c.listener, c.protocol, ago(c.connectedSeconds)], query ? 'no client matches' : 'no clients connected')
    text($('page'), p.matched === 0 ? '-' : (p.offset + 1) + '–' + Math.min(p.offset + p.limit, p.matched))
    $('prev').disabled = p.offset === 0
    $('next').disabled = p.offset + p.limit >= p.matched
  }
  const refresh = async () => {
    try {
      const [s, c] = await Promise.all([get('/api/v1/status'), get('/api/v1/clients?limit=' + PAGE + '&offset=' + offset + '&q=' + encodeURIComponent(query))])
      showStatus(s); showClients(c)
      text($('updated'), 'updated ' + new Date().toLocaleTimeString())
      document.body.classList.remove('stale')
    } catch (err) {
      text($('updated'), 'update failed: ' + err.message)
      document.body.classList.add('stale')
    }
  }
  $('client-search').addEventListener('submit', (e) => { e.preventDefault() })
  $('q').addEventListener('input', () => { query = $('q').value.trim(); offset = 0; void refresh() })
  $('prev').addEventListener('click', () => { offset = Math.max(0, offset - PAGE); void refresh() })
  $('next').addEventListener('click', () => { offset += PAGE; void refresh() })
  void refresh()
  setInterval(() => { if (!document.hidden) void refresh() }, 5000)
})()
`

/** GET /status.css */
export const STATUS_CSS = `:root { --fg: #1d2430; --muted: #5d6675; --line: #dde1e7; --bg: #f6f7f9; --ok: #17803d; --bad: #c0262d; --warn: #a15c00; font: 15px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg) }
body { margin: 0 auto; max-width: 1100px; padding: 12px }
h1 { font-size: 1.4rem; margin: 0 } h1 span { font-weight: normal; color: var(--muted); font-size: 1rem }
h2 { font-size: 1.05rem; margin: 18px 0 6px }
header p { margin: 4px 0 0; color: var(--muted) }
.pill { display: inline-block; padding: 1px 8px; border-radius: 9px; color: #fff; background: var(--muted); font-weight: 600 }
.pill.ok { background: var(--ok) } .pill.bad { background: var(--bad) }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(140px, 1fr)); gap: 8px; margin-top: 12px }
.card { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px }
.card b { display: block; font-size: 1.2rem; overflow-wrap: anywhere } .card span { color: var(--muted); font-size: .85rem }
.card.warn b { color: var(--warn) } .card.bad b { color: var(--bad) }
table { width: 100%; border-collapse: collapse; background: #fff; border: 1px solid var(--line) }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: top; overflow-wrap: anywhere }
th { font-size: .8rem; color: var(--muted); font-weight: 600 }
td.ok { color: var(--ok); font-weight: 600 } td.bad { color: var(--bad); font-weight: 600 } td.empty { color: var(--muted); font-style: italic }
input[type=search] { width: 100%; box-sizing: border-box; padding: 7px 9px; font: inherit; border: 1px solid var(--line); border-radius: 6px; margin-bottom: 6px }
.pager { text-align: center } button { font: inherit; padding: 4px 10px }
footer { margin: 20px 0; color: var(--muted); font-size: .85rem } a { color: inherit }
body.stale main { opacity: .6 }
/* Phones: each table row becomes a small card of labelled values, no sideways scrolling. */
@media (max-width: 640px) {
  body { padding: 8px }
  thead { display: none }
  table, tbody { display: block; width: 100% }
  tr { display: flex; flex-wrap: wrap; gap: 0 14px; padding: 6px 8px; border-bottom: 1px solid var(--line) }
  td { display: block; border: 0; padding: 1px 0 }
  td:first-child { flex-basis: 100%; font-weight: 600 }
  td:not(:first-child):not(.empty)::before { content: attr(data-label) " "; color: var(--muted); font-size: .8rem }
  .cards { grid-template-columns: repeat(2, 1fr) }
}
`
