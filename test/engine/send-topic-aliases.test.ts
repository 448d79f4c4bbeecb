// Canary for src/engine/send-topic-aliases.ts: the pinned aedes still sends no
// topic alias of its own (its only alias code resolves inbound ones), and still
// advertises its own Topic Alias Maximum in CONNACK for the inbound direction.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { REPO_ROOT } from '../helpers/broker-process.ts'

const aedes = (file: string): string => readFileSync(join(REPO_ROOT, 'node_modules/aedes', file), 'utf8')

test('aedes sets no topicAlias on outgoing packets', () => {
  // its one alias field is the inbound map (lib/client.js _topicAliases)
  assert.not.match(aedes('lib/client.js').replace(/_topicAliases/g, ''), /topicAlias/, 'aedes now sends aliases: the override may clash with it')
  assert.not.match(aedes('lib/qos-packet.js') + aedes('lib/write.js'), /topicAlias/)
  assert.match(aedes('lib/handlers/publish.js'), /function resolveTopicAlias/)
})

test.run()
