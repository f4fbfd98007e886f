import { describe, expect, it } from 'vitest'
import { BoundedSessionStore, RingBufferHistory } from '../src/index.js'
import { session, setupStore } from './helpers/store.js'

// Errors never vanish: they reach the 'error' event, or, with no listener, one process warning
// per store (code BOUNDED_SESSION_STORE_ERROR) and the count in stats().errors. Nothing a listener
// throws comes out of a history's push().

const WARNING = 'BOUNDED_SESSION_STORE_ERROR'

async function warningsDuring(fn: () => void | Promise<void>): Promise<Array<Error & { code?: string }>> {
  const warnings: Array<Error & { code?: string }> = []
  const listener = (w: Error) => warnings.push(w)
  process.on('warning', listener)
  try {
    await fn()
    await new Promise((resolve) => setImmediate(resolve))
  } finally {
    process.off('warning', listener)
  }
  return warnings.filter((w) => w.code === WARNING)
}

describe('errors with no error listener', () => {
  it('a dispose that throws is reported by one process warning with a stable code', async () => {
    const { store } = setupStore({
      dispose: () => {
        throw new Error('teardown failed')
      },
    })
    const warnings = await warningsDuring(() => {
      store.set('a', session('a')).set('b', session('b'))
      expect(store.delete('a')).toBe(true)
      store.delete('b')
    })
    expect(warnings).toHaveLength(1)
    expect(warnings[0]?.message).toContain('teardown failed')
    expect(store.stats().errors).toBe(2)
  })

  it('a dispose that rejects is reported too', async () => {
    const { store } = setupStore({ dispose: () => Promise.reject(new Error('async teardown failed')) })
    const warnings = await warningsDuring(async () => {
      store.set('a', session('a'))
      await store.remove('a')
      await new Promise((resolve) => setImmediate(resolve))
    })
    expect(warnings.map((w) => w.message.includes('async teardown failed'))).toEqual([true])
    expect(store.stats().errors).toBe(1)
  })

  it('an isBusy that throws is reported and counted; the session counts as busy', async () => {
    const { store, clock, disposed } = setupStore({
      idleTtlMs: 10,
      isBusy: () => {
        throw new Error('isBusy failed')
      },
    })
    const warnings = await warningsDuring(() => {
      store.set('a', session('a'))
      clock.t = 100
      expect(store.sweep()).toBe(0)
    })
    expect(warnings).toHaveLength(1)
    expect(disposed).toEqual([])
    expect(store.stats().errors).toBe(1)
  })

  it('each store warns once of its own', async () => {
    const fail = () => {
      throw new Error('x')
    }
    const one = setupStore({ dispose: fail }).store
    const two = setupStore({ dispose: fail }).store
    const warnings = await warningsDuring(() => {
      one.set('a', session('a')).delete('a')
      one.set('a', session('a')).delete('a')
      two.set('a', session('a')).delete('a')
    })
    expect(warnings).toHaveLength(2)
  })

  it('no warning when an error listener hears it', async () => {
    const { store } = setupStore({
      dispose: () => {
        throw new Error('teardown failed')
      },
    })
    const heard: unknown[] = []
    store.on('error', (e, key) => heard.push([(e as Error).message, key]))
    const warnings = await warningsDuring(() => {
      store.set('a', session('a')).delete('a')
    })
    expect(warnings).toEqual([])
    expect(heard).toEqual([['teardown failed', 'a']])
    expect(store.stats().errors).toBe(1)
  })
})

describe('a history push that drives the store', () => {
  it('never throws what a remove listener throws; the error goes to the error event', () => {
    const { store, disposed } = setupStore({ maxBytes: 3500 })
    const a = session('a')
    const b = session('b')
    store.set('a', a).set('b', b)
    const errors: unknown[] = []
    store.on('remove', () => {
      throw new Error('listener failed')
    })
    store.on('error', (e) => errors.push(e))
    expect(() => b.history.push('x'.repeat(1000))).not.toThrow()
    expect(b.history.length).toBe(1)
    expect(disposed).toEqual([['a', 'size']])
    expect(errors).toEqual([expect.objectContaining({ message: 'listener failed' })])
  })

  it('never throws what an error listener throws; it becomes the warning', async () => {
    const { store } = setupStore({
      maxBytes: 3500,
      dispose: () => {
        throw new Error('teardown failed')
      },
    })
    const b = session('b')
    store.set('a', session('a')).set('b', b)
    store.on('error', () => {
      throw new Error('error listener failed')
    })
    const warnings = await warningsDuring(() => {
      expect(() => b.history.push('x'.repeat(1000))).not.toThrow()
    })
    expect(warnings.map((w) => w.message.includes('error listener failed'))).toEqual([true])
  })

  it('a custom sizeOf that throws after a push is reported, and the weight kept', () => {
    let fail = false
    const { store } = setupStore<{ history: RingBufferHistory<string> }>({
      sizeOf: () => {
        if (fail) throw new Error('sizeOf failed')
        return 10
      },
    })
    const errors: unknown[] = []
    store.on('error', (e, key) => errors.push([(e as Error).message, key]))
    const s = { history: new RingBufferHistory<string>() }
    store.set('a', s)
    fail = true
    expect(() => s.history.push('x')).not.toThrow()
    expect(store.bytes).toBe(10)
    expect(errors).toEqual([['sizeOf failed', 'a']])
  })
})

describe('errors met by reads', () => {
  it('an isBusy error met by peek, has or iteration is delivered before they return', () => {
    let t = 0
    const errors: unknown[] = []
    const store = new BoundedSessionStore<string, object>({
      sweepIntervalMs: 0,
      idleTtlMs: 10,
      now: () => t,
      isBusy: () => {
        throw new Error('isBusy failed')
      },
    })
    store.on('error', (e) => errors.push(e))
    store.set('a', {})
    t = 100
    expect(store.peek('a')).toBeDefined() // a failing check counts as busy: kept
    expect(errors).toHaveLength(1)
    expect(store.has('a')).toBe(true)
    expect(errors).toHaveLength(2)
    expect([...store.keys()]).toEqual(['a'])
    expect(errors).toHaveLength(3)
  })
})

describe('a clock that returns a non-finite number', () => {
  it.each([NaN, Infinity, -Infinity, '5' as unknown as number])('is refused with ERR_INVALID_CLOCK (%s), changing nothing', (bad) => {
    let t: number = 0
    const { store, disposed } = setupStore({ now: () => t, idleTtlMs: 10 })
    store.set('a', session('a'))
    t = bad
    for (const call of [() => store.get('a'), () => store.set('b', session('b')), () => store.sweep(), () => store.has('a'), () => store.delete('a')]) {
      expect(call).toThrow(expect.objectContaining({ code: 'ERR_INVALID_CLOCK', value: bad }))
    }
    t = 5
    expect([...store.keys()]).toEqual(['a'])
    expect(disposed).toEqual([])
    t = 100
    expect(store.sweep()).toBe(1)
  })

  it('met by the sweep timer, it is reported as an error, not thrown', () => {
    let t: number = 0
    const errors: unknown[] = []
    const store = new BoundedSessionStore<string, object>({ now: () => t, sweepIntervalMs: 10 })
    store.on('error', (e) => errors.push(e))
    t = NaN
    return new Promise<void>((resolve) => {
      setTimeout(() => {
        void store.close()
        expect(errors.length).toBeGreaterThan(0)
        expect(errors[0]).toMatchObject({ code: 'ERR_INVALID_CLOCK' })
        resolve()
      }, 40)
    })
  })
})
