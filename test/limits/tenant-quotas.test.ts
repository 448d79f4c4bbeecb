// Per-user and per-group quota accounting (src/limits/tenant-quotas.ts).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { TenantQuotas, TENANT_QUOTA_OPTIONS, readTenantSettings } from '../../src/limits/tenant-quotas.ts'
import { resolveConfig } from '../../src/config/load-config.ts'
import type { EdgemqConfig } from '../../src/config/types.ts'

// limits.* as a config without these keys loads them (each option's table default), then the test's values
const DEFAULT_LIMITS = (await resolveConfig()).config.limits
const settings = (limits: Record<string, unknown>) => readTenantSettings({ limits: { ...DEFAULT_LIMITS, ...limits } } as unknown as EdgemqConfig)
const alice = { username: 'alice', groups: ['ops'] }
const carol = { username: 'carol', groups: ['ops'] }

test('unset per-user caps derive from the global and per-client ones', () => {
  const s = settings({ maxRetainedMessages: 2500, maxRetainedBytes: 4000, maxSubscriptionsPerClient: 10 })
  assert.equal(s.user, { maxRetainedMessages: 625, maxRetainedBytes: 1000, maxSubscriptions: 40, maxQueuedMessages: 0, maxQueuedBytes: 0 })
  assert.equal(settings({ maxRetainedMessagesPerUser: 0 }).user.maxRetainedMessages, 0, '0 = no cap')
})

test('a retained topic counts for the user and its capped groups; replacing by another user moves it', () => {
  const q = new TenantQuotas(settings({ maxRetainedMessagesPerUser: 2, groupQuotas: { ops: { maxRetainedMessages: 3 } } }))
  assert.equal(q.tenantsOf(alice), ['user:alice', 'group:ops'])
  assert.equal(q.tenantsOf({ groups: ['ops'] }), [], 'anonymous: no tenant')
  q.applyRetained('a/1', 10, alice)
  q.applyRetained('a/2', 10, alice)
  assert.match(q.checkRetained('a/3', 10, alice) ?? '', /user alice holds limits.maxRetainedMessagesPerUser \(2\)/)
  assert.is(q.checkRetained('a/1', 20, alice), undefined, 'replacing its own topic fits')
  q.applyRetained('c/1', 5, carol)
  assert.match(q.checkRetained('c/2', 5, carol) ?? '', /group ops holds limits.groupQuotas.ops.maxRetainedMessages \(3\)/)
  q.applyRetained('a/1', 7, carol) // carol takes over alice's topic
  assert.equal(q.usage('user:alice'), { retained: 1, retainedBytes: 10, subscriptions: 0 })
  assert.equal(q.usage('group:ops'), { retained: 3, retainedBytes: 22, subscriptions: 0 })
  q.applyRetained('a/1', 0, carol) // deleted
  assert.equal(q.usage('user:carol'), { retained: 1, retainedBytes: 5, subscriptions: 0 })
})

test('subscriptions: checked against current tenants, released to the tenants counted', () => {
  const q = new TenantQuotas(settings({ maxSubscriptionsPerUser: 2 }))
  const t = q.tenantsOf(alice)
  q.countSubscriptions(t, 2)
  assert.ok(q.checkSubscription(alice) !== undefined)
  q.countSubscriptions(t, -1)
  assert.is(q.checkSubscription(alice), undefined)
})

test('limits.groupQuotas is checked with a message that names the fix', () => {
  const check = TENANT_QUOTA_OPTIONS.find((o) => o.key === 'limits.groupQuotas')!.check!
  assert.is(check({ ops: { maxSubscriptions: 5 } }), undefined)
  assert.match(check({ ops: { maxRetained: 5 } }) ?? '', /unknown cap "maxRetained"/)
  assert.match(check({ ops: { maxSubscriptions: -1 } }) ?? '', /whole number >= 0/)
  assert.match(check([1]) ?? '', /must map an ACL group/)
})

test('offline-queue budgets: one per capped tenant, shared by its sessions; caps follow a reload; uncapped tenants cost nothing', () => {
  const q = new TenantQuotas(settings({ maxQueuedMessagesPerUser: 10, groupQuotas: { ops: { maxQueuedBytes: '1KB' }, lab: { maxSubscriptions: 5 } } }))
  const budgets = q.queueBudgetsOf(alice)
  assert.equal(budgets.map((b) => [b.name, b.maxMessages, b.maxBytes]), [['user alice', 10, 0], ['group ops', 0, 1024]])
  assert.is(q.queueBudgetsOf(alice)[0], budgets[0], 'the same object for every session of the user')
  assert.is(q.queueBudgetsOf(carol)[1], budgets[1], 'group members share one')
  assert.equal(q.queueBudgetsOf({ username: 'dan', groups: ['lab'] }).map((b) => b.name), ['user dan'], 'a group without a queue cap adds nothing')
  assert.equal(q.queueBudgetsOf(undefined), [], 'unknown owner: no budget')
  budgets[0].messages = 4 // the store keeps the figures
  assert.equal(q.queued('user:alice'), { messages: 4, bytes: 0 })
  q.update(settings({ maxQueuedMessagesPerUser: 3 }))
  assert.equal([budgets[0].maxMessages, budgets[1].maxBytes], [3, 0], 'a reload changes the caps in place')
})

test('limits.groupQuotas accepts the queue caps (a size for bytes) and names a bad one', () => {
  const check = TENANT_QUOTA_OPTIONS.find((o) => o.key === 'limits.groupQuotas')!.check!
  assert.is(check({ ops: { maxQueuedMessages: 100, maxQueuedBytes: '64MB' } }), undefined)
  assert.match(check({ ops: { maxQueuedBytes: 'lots' } }) ?? '', /group ops: maxQueuedBytes must be a size/)
  assert.match(check({ ops: { maxQueuedMessages: -1 } }) ?? '', /maxQueuedMessages must be a whole number >= 0/)
})

test.run()
