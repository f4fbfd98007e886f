// Issue 17 items 3 and 4 (issue 22 item 3): what a read costs where it used to walk every
// session. A `get` over capacity with every session busy (the store must not ask isBusy of them
// all on every operation) against a `get` at capacity; a `size` read with maxAgeMs and a busy
// session past its max age (it must not walk the store) against one without maxAgeMs.
import { type Settings, type SpeedResult, type Variant, compare, sink } from '../harness.js'
import { indexes, prng } from '../data.js'
import { lib } from '../library.js'

const { BoundedSessionStore } = lib
const OPS = 1000

interface Session {
  id: number
  busy: boolean
}

function getters(store: InstanceType<typeof BoundedSessionStore<number, Session>>, sessions: number, name: string, seed: number): Variant {
  const rand = prng(seed)
  const size = 1 << Math.ceil(Math.log2(4 * sessions))
  const mask = size - 1
  const order = indexes(size, sessions, rand)
  let at = 0
  return {
    name,
    run() {
      let n = 0
      for (let k = 0; k < OPS; k++) {
        n += (store.get(order[at] as number) as Session).id
        at = (at + 1) & mask
      }
      sink.value = n
    },
  }
}

export function busySuite(settings: Settings, smoke: boolean): SpeedResult[] {
  const busy = smoke ? 500 : 5_000
  const max = smoke ? 10 : 100
  const isBusy = (s: Session) => s.busy
  const over = new BoundedSessionStore<number, Session>({ maxSessions: max, isBusy, sweepIntervalMs: 0 })
  for (let i = 0; i < busy; i++) over.set(i, { id: i, busy: true })
  const at = new BoundedSessionStore<number, Session>({ maxSessions: max, isBusy, sweepIntervalMs: 0 })
  for (let i = 0; i < max; i++) at.set(i, { id: i, busy: true })
  if (over.size !== busy || at.size !== max) throw new Error('store-busy: sizes drifted')
  const get = compare(
    `busy-get-${busy}`,
    `get (hit), ${busy.toLocaleString('en-US')} busy sessions over maxSessions ${max} vs ${max} at capacity`,
    OPS,
    [getters(over, busy, `get, ${busy.toLocaleString('en-US')} busy over maxSessions ${max}`, 0x5eed_0b05), getters(at, max, `get at capacity (${max} sessions)`, 0x5eed_0b06)],
    settings,
  )

  // size with maxAgeMs: one busy session past its max age, the rest young.
  const sessions = smoke ? 1_000 : 100_000
  const clock = { t: 0 }
  const aged = new BoundedSessionStore<number, Session>({ maxSessions: sessions + 1, maxAgeMs: 1_000, isBusy, now: () => clock.t, sweepIntervalMs: 0 })
  const plain = new BoundedSessionStore<number, Session>({ maxSessions: sessions + 1, isBusy, now: () => clock.t, sweepIntervalMs: 0 })
  aged.set(-1, { id: -1, busy: true })
  clock.t = 500
  for (let i = 0; i < sessions; i++) {
    aged.set(i, { id: i, busy: false })
    plain.set(i, { id: i, busy: false })
  }
  clock.t = 1_200
  if (aged.size !== sessions + 1 || plain.size !== sessions) throw new Error('store-busy: size drifted')
  const reads = (store: typeof aged, name: string): Variant => ({
    name,
    run() {
      let n = 0
      for (let k = 0; k < OPS; k++) n += store.size
      sink.value = n
    },
  })
  const size = compare(
    `size-max-age-${sessions}`,
    `size read, ${sessions.toLocaleString('en-US')} sessions, one busy past maxAgeMs vs no maxAgeMs`,
    OPS,
    [reads(aged, 'size with maxAgeMs'), reads(plain, 'size without maxAgeMs')],
    settings,
  )
  return [get, size]
}
