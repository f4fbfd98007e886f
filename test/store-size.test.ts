import { describe, expect, it, vi } from 'vitest'
import {
  BoundedSessionStore,
  InvalidMeasurementError,
  RingBufferHistory,
  SESSION_OVERHEAD_BYTES,
  type BoundedSessionStoreOptions,
  type OverflowInfo,
} from '../src/index.js'
import { setupStore } from './helpers/store.js'

// maxBytes: a size-weighted bound whose sizes follow the sessions' histories as they grow,
// without the host calling anything after a push.

interface Session {
  id: string
  history: RingBufferHistory<string>
  busy?: boolean
}

function setup(options: BoundedSessionStoreOptions<string, Session> = {}) {
  const overflows: OverflowInfo[] = []
  const s = setupStore<Session>(options)
  s.store.on('overflow', (info) => overflows.push(info))
  return { ...s, overflows }
}

const session = (id: string, busy = false): Session => ({
  id,
  history: new RingBufferHistory<string>({ maxMessages: 1000 }),
  busy,
})
/** Default sizeOf of a string message: 16 + 2 × length. */
const msgBytes = (length: number) => 16 + 2 * length
const msg = (length: number) => 'x'.repeat(length)

describe('SESSION_OVERHEAD_BYTES and the default sizeOf', () => {
  it('is the documented 1024 bytes', () => {
    expect(SESSION_OVERHEAD_BYTES).toBe(1024)
  })

  it('weighs a session without histories at the overhead alone', () => {
    const store = new BoundedSessionStore<string, unknown>({ now: () => 0, sweepIntervalMs: 0 })
    store.set('plain', { id: 1, text: 'x'.repeat(10_000) })
    expect(store.bytes).toBe(SESSION_OVERHEAD_BYTES)
    store.set('string', 'hello')
    expect(store.bytes).toBe(2 * SESSION_OVERHEAD_BYTES)
  })

  it('adds the bytes of every RingBufferHistory among the value’s own properties', () => {
    const store = new BoundedSessionStore<string, { a: RingBufferHistory<string>; b: RingBufferHistory<string> }>({
      now: () => 0,
      sweepIntervalMs: 0,
    })
    const a = RingBufferHistory.from(['hello', 'world'])
    const b = RingBufferHistory.from([msg(100)])
    store.set('s', { a, b })
    expect(store.bytes).toBe(SESSION_OVERHEAD_BYTES + a.bytes + b.bytes)
    expect(store.bytes).toBe(SESSION_OVERHEAD_BYTES + msgBytes(5) * 2 + msgBytes(100))
  })

  it('store.bytes follows pushes to a stored history without the host calling anything', () => {
    const { store } = setup()
    const s = session('a')
    store.set('a', s)
    expect(store.bytes).toBe(SESSION_OVERHEAD_BYTES)
    s.history.push(msg(100))
    expect(store.bytes).toBe(SESSION_OVERHEAD_BYTES + msgBytes(100))
    s.history.push(msg(10), msg(20))
    expect(store.bytes).toBe(SESSION_OVERHEAD_BYTES + msgBytes(100) + msgBytes(10) + msgBytes(20))
    expect(store.bytes).toBe(SESSION_OVERHEAD_BYTES + s.history.bytes)
  })

  it('store.bytes shrinks when a push trims the history', () => {
    const { store } = setup()
    const s: Session = { id: 'a', history: new RingBufferHistory<string>({ maxMessages: 2 }) }
    store.set('a', s)
    s.history.push(msg(500), msg(500))
    expect(store.bytes).toBe(SESSION_OVERHEAD_BYTES + 2 * msgBytes(500))
    s.history.push(msg(1))
    expect(store.bytes).toBe(SESSION_OVERHEAD_BYTES + msgBytes(500) + msgBytes(1))
  })

  it('a push to the history of a session that left the store changes nothing', () => {
    const { store, disposed } = setup({ maxBytes: 2 * SESSION_OVERHEAD_BYTES })
    const gone = session('gone')
    store.set('gone', gone)
    store.set('b', session('b'))
    store.delete('gone')
    expect(store.bytes).toBe(SESSION_OVERHEAD_BYTES)
    gone.history.push(msg(5000))
    expect(store.bytes).toBe(SESSION_OVERHEAD_BYTES)
    expect(disposed).toEqual([['gone', 'delete']])
    expect(store.has('b')).toBe(true)
  })

  it('a replaced value’s histories stop counting', () => {
    const { store } = setup()
    const old = session('old')
    store.set('a', old)
    store.set('a', session('new'))
    old.history.push(msg(1000))
    expect(store.bytes).toBe(SESSION_OVERHEAD_BYTES)
  })

  it('a history put on the value after set counts once set(key, value) is called again', () => {
    const { store } = setup()
    const s = session('a')
    store.set('a', s)
    const replacement = RingBufferHistory.from([msg(50)], { maxMessages: 1000 })
    s.history = replacement
    store.set('a', s)
    expect(store.bytes).toBe(SESSION_OVERHEAD_BYTES + msgBytes(50))
    replacement.push(msg(10))
    expect(store.bytes).toBe(SESSION_OVERHEAD_BYTES + msgBytes(50) + msgBytes(10))
  })

  it('the bytes of a getOrCreate’d session follow its history too', () => {
    const { store } = setup()
    const s = store.getOrCreate('a', (k) => session(k))
    s.history.push(msg(40))
    expect(store.bytes).toBe(SESSION_OVERHEAD_BYTES + msgBytes(40))
  })

  it('bytes drop by a session’s weight when it leaves', () => {
    const { store } = setup()
    const a = session('a')
    const b = session('b')
    store.set('a', a).set('b', b)
    a.history.push(msg(10))
    b.history.push(msg(20))
    store.delete('a')
    expect(store.bytes).toBe(SESSION_OVERHEAD_BYTES + msgBytes(20))
    store.clear()
    expect(store.bytes).toBe(0)
  })
})

describe('maxBytes', () => {
  it('an insert that exceeds maxBytes evicts the least recently used other session with "size"', () => {
    const { store, disposed } = setup({ maxBytes: 2 * SESSION_OVERHEAD_BYTES + 100 })
    store.set('a', session('a')).set('b', session('b'))
    expect(disposed).toEqual([])
    store.set('c', session('c'))
    expect(disposed).toEqual([['a', 'size']])
    expect([...store.keys()]).toEqual(['c', 'b'])
    expect(store.bytes).toBe(2 * SESSION_OVERHEAD_BYTES)
  })

  it('an insert of a large session evicts as many others as needed, least recently used first', () => {
    const { store, disposed } = setup({ maxBytes: 4 * SESSION_OVERHEAD_BYTES })
    store.set('a', session('a')).set('b', session('b')).set('c', session('c'))
    store.get('a') // order a, c, b
    const big = session('big')
    big.history.push(msg(1000)) // weighs 1024 + 16 + 2000
    store.set('big', big)
    expect(disposed).toEqual([
      ['b', 'size'],
      ['c', 'size'],
    ])
    expect([...store.keys()]).toEqual(['big', 'a'])
    expect(store.bytes).toBeLessThanOrEqual(4 * SESSION_OVERHEAD_BYTES)
  })

  it('a push that grows a history past maxBytes evicts the least recently used other session', () => {
    const { store, disposed } = setup({ maxBytes: 3 * SESSION_OVERHEAD_BYTES + 500 })
    const a = session('a')
    const c = session('c')
    store.set('a', a).set('b', session('b')).set('c', c)
    c.history.push(msg(300)) // + 616 bytes > 500 spare
    expect(disposed).toEqual([['a', 'size']])
    expect([...store.keys()]).toEqual(['c', 'b'])
    expect(store.bytes).toBeLessThanOrEqual(3 * SESSION_OVERHEAD_BYTES + 500)
  })

  it('the session whose history grew is not the one evicted, even when it is the least recently used', () => {
    const { store, disposed } = setup({ maxBytes: 3 * SESSION_OVERHEAD_BYTES + 500 })
    const a = session('a')
    store.set('a', a).set('b', session('b')).set('c', session('c'))
    a.history.push(msg(300))
    expect(disposed).toEqual([['b', 'size']])
    expect(store.has('a')).toBe(true)
    expect([...store.keys()]).toEqual(['c', 'a'])
  })

  it('a push does not refresh recency', () => {
    const { store, disposed } = setup({ maxBytes: 3 * SESSION_OVERHEAD_BYTES + 1000 })
    const a = session('a')
    store.set('a', a).set('b', session('b')).set('c', session('c'))
    a.history.push(msg(10))
    expect([...store.keys()]).toEqual(['c', 'b', 'a'])
    store.set('d', session('d')) // 4 × 1024 + 36 > maxBytes → evicts the least recently used: a
    expect(disposed).toEqual([['a', 'size']])
  })

  it('a lone session over maxBytes stays and an overflow {bound: "maxBytes"} is emitted', () => {
    const { store, disposed, overflows } = setup({ maxBytes: SESSION_OVERHEAD_BYTES + 100 })
    const a = session('a')
    store.set('a', a)
    a.history.push(msg(500))
    expect(disposed).toEqual([])
    expect(store.has('a')).toBe(true)
    expect(overflows).toHaveLength(1)
    expect(overflows[0]).toEqual({
      bound: 'maxBytes',
      size: 1,
      bytes: SESSION_OVERHEAD_BYTES + msgBytes(500),
      limit: SESSION_OVERHEAD_BYTES + 100,
    })
    // The oversized session is evicted once another session's insertion needs the room.
    store.set('b', session('b'))
    expect(disposed).toEqual([['a', 'size']])
    expect([...store.keys()]).toEqual(['b'])
  })

  it('a session heavier than maxBytes on its own is inserted anyway and evicts no other; the next operation evicts it', () => {
    const { store, disposed, overflows } = setup({ maxBytes: 2 * SESSION_OVERHEAD_BYTES })
    store.set('a', session('a'))
    const big = session('big')
    big.history.push(msg(1000)) // 1024 + 2016 > 2048 alone
    store.set('big', big)
    // Evicting 'a' could not bring the store within maxBytes: it stays.
    expect(disposed).toEqual([])
    expect(store.peek('big')).toBe(big)
    expect(overflows).toEqual([
      { bound: 'maxBytes', size: 2, bytes: 2 * SESSION_OVERHEAD_BYTES + msgBytes(1000), limit: 2 * SESSION_OVERHEAD_BYTES },
    ])
    // The next operation that does not use it evicts the idle oversized session.
    expect(store.get('a')).toBeDefined()
    expect(disposed).toEqual([['big', 'size']])
    expect(store.bytes).toBe(SESSION_OVERHEAD_BYTES)
  })

  it('an expired victim is evicted with its expiry reason', () => {
    const { store, disposed, clock } = setup({ maxBytes: 2 * SESSION_OVERHEAD_BYTES + 100, idleTtlMs: 1000 })
    store.set('a', session('a'))
    clock.t = 500
    store.set('b', session('b'))
    clock.t = 1000
    store.set('c', session('c'))
    expect(disposed).toEqual([['a', 'idle']])
  })

  it('busy sessions are skipped; with only busy others the grown session stays and overflow is emitted', () => {
    const { store, disposed, overflows } = setup({
      maxBytes: 2 * SESSION_OVERHEAD_BYTES + 100,
      isBusy: (v) => v.busy === true,
    })
    const a = session('a', true)
    const b = session('b')
    store.set('a', a).set('b', b)
    b.history.push(msg(200))
    expect(disposed).toEqual([])
    expect(overflows.map((o) => o.bound)).toEqual(['maxBytes'])
    a.busy = false
    store.sweep()
    // 'a' was found busy when b grew, which counts as activity: b is the least recently active.
    expect(disposed).toEqual([['b', 'size']])
    expect(store.bytes).toBeLessThanOrEqual(2 * SESSION_OVERHEAD_BYTES + 100)
  })
})

describe('custom sizeOf', () => {
  it('weighs sessions with sizeOf(value, key) and evicts with "size"', () => {
    const sizeOf = vi.fn((v: Session, _k: string) => Number(v.id.slice(1)))
    const { store, disposed } = setup({ maxBytes: 10, sizeOf })
    store.set('a', { id: 'a4', history: new RingBufferHistory() })
    expect(sizeOf).toHaveBeenCalledWith(expect.objectContaining({ id: 'a4' }), 'a')
    store.set('b', { id: 'b4', history: new RingBufferHistory() })
    expect(store.bytes).toBe(8)
    store.set('c', { id: 'c4', history: new RingBufferHistory() })
    expect(disposed).toEqual([['a', 'size']])
    expect(store.bytes).toBe(8)
  })

  it('adds no overhead of its own', () => {
    const { store } = setup({ sizeOf: () => 7 })
    store.set('a', session('a'))
    expect(store.bytes).toBe(7)
  })

  it('is re-run after a push to one of the value’s histories', () => {
    const { store, disposed } = setup({ maxBytes: 250, sizeOf: (v) => v.history.length * 100 })
    const a = session('a')
    const b = session('b')
    store.set('a', a).set('b', b)
    expect(store.bytes).toBe(0)
    b.history.push('1', '2')
    expect(store.bytes).toBe(200)
    a.history.push('1')
    // a grew past the bound: b (the least recently used other than a) goes
    expect(disposed).toEqual([['b', 'size']])
    expect(store.bytes).toBe(100)
  })

  it.each([[-1], [Number.NaN], [Number.POSITIVE_INFINITY], [2 ** 32]])(
    'a sizeOf returning %s throws InvalidMeasurementError and stores nothing',
    (bad) => {
      const { store, disposed } = setup({ sizeOf: (v) => (v.id === 'bad' ? bad : 1) })
      store.set('ok', session('ok'))
      let error: unknown
      try {
        store.set('bad', session('bad'))
      } catch (e) {
        error = e
      }
      expect(error).toBeInstanceOf(InvalidMeasurementError)
      expect((error as InvalidMeasurementError).code).toBe('ERR_INVALID_MEASUREMENT')
      expect((error as InvalidMeasurementError).measure).toBe('sizeOf')
      expect(store.has('bad')).toBe(false)
      expect([...store.keys()]).toEqual(['ok'])
      expect(store.bytes).toBe(1)
      expect(disposed).toEqual([])
    },
  )
})
