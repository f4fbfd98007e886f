import { afterEach, describe, expect, it, vi } from 'vitest'
import { BoundedSessionStore, InvalidOptionsError, type BoundedSessionStoreOptions } from '../src/index.js'

// Options are validated in the constructor: InvalidOptionsError (ERR_INVALID_OPTIONS) naming the
// field and the value; unknown keys are rejected; nothing is constructed.

function construct(options: unknown): unknown {
  try {
    new BoundedSessionStore<string, unknown>(options as BoundedSessionStoreOptions<string, unknown>)
  } catch (error) {
    return error
  }
  return undefined
}

function expectInvalid(options: unknown, field: string, value: unknown) {
  const error = construct(options)
  expect(error, `${JSON.stringify(options)} should be rejected`).toBeInstanceOf(InvalidOptionsError)
  expect(error).toBeInstanceOf(TypeError)
  const e = error as InvalidOptionsError
  expect(e.code).toBe('ERR_INVALID_OPTIONS')
  expect(e.field).toBe(field)
  expect(Object.is(e.value, value)).toBe(true)
  expect(e.message).toContain(`\`${field}\``)
  const shown =
    typeof value === 'function'
      ? '[Function'
      : typeof value === 'string' || (typeof value === 'object' && value !== null)
        ? JSON.stringify(value)
        : String(value)
  expect(e.message).toContain(shown)
}

const fn = () => 1

afterEach(() => {
  vi.useRealTimers()
})

describe('BoundedSessionStore options', () => {
  it('accepts no options, {} and every option set to a valid value', () => {
    expect(construct(undefined)).toBeUndefined()
    expect(construct({ sweepIntervalMs: 0 })).toBeUndefined()
    expect(
      construct({
        maxSessions: 10,
        idleTtlMs: 1000,
        maxAgeMs: 5000,
        maxBytes: 1_000_000,
        sizeOf: fn,
        isBusy: () => false,
        dispose: () => {},
        whenFull: 'reject',
        sweepIntervalMs: 0,
        heapHighWaterBytes: 500_000_000,
        now: () => 0,
      }),
    ).toBeUndefined()
    expect(construct({ whenFull: 'evict', sweepIntervalMs: 0 })).toBeUndefined()
  })

  it('accepts fractional and huge durations', () => {
    expect(construct({ idleTtlMs: 0.5, maxAgeMs: 1.5, sweepIntervalMs: 0 })).toBeUndefined()
    expect(construct({ idleTtlMs: 2 ** 40, maxAgeMs: 2 ** 45, sweepIntervalMs: 0 })).toBeUndefined()
  })

  it('rejects options that are not an object', () => {
    expectInvalid(5, 'options', 5)
    expectInvalid('x', 'options', 'x')
    expectInvalid(null, 'options', null)
  })

  const positiveIntegers = ['maxSessions', 'maxBytes'] as const
  for (const field of positiveIntegers) {
    it.each([['ten'], [0], [-1], [Number.NaN], [1.5], [Number.POSITIVE_INFINITY], [true], [null]])(
      `${field}: rejects %s`,
      (value) => {
        expectInvalid({ [field]: value, sweepIntervalMs: 0 }, field, value)
      },
    )
  }

  const positiveDurations = ['idleTtlMs', 'maxAgeMs'] as const
  for (const field of positiveDurations) {
    it.each([['1000'], [0], [-5], [Number.NaN], [Number.NEGATIVE_INFINITY], [Number.POSITIVE_INFINITY], [null]])(
      `${field}: rejects %s`,
      (value) => {
        expectInvalid({ [field]: value, sweepIntervalMs: 0 }, field, value)
      },
    )
  }

  it.each([['60000'], [-1], [Number.NaN], [Number.POSITIVE_INFINITY], [null]])(
    'sweepIntervalMs: rejects %s',
    (value) => {
      expectInvalid({ sweepIntervalMs: value }, 'sweepIntervalMs', value)
    },
  )

  it.each([['1'], [0], [-1], [Number.NaN], [Number.POSITIVE_INFINITY], [null]])(
    'heapHighWaterBytes: rejects %s',
    (value) => {
      expectInvalid({ heapHighWaterBytes: value, sweepIntervalMs: 0 }, 'heapHighWaterBytes', value)
    },
  )

  const callbacks = ['sizeOf', 'isBusy', 'dispose', 'now'] as const
  for (const field of callbacks) {
    it.each([[5], ['fn'], [{}], [null], [true]])(`${field}: rejects %s (not a function)`, (value) => {
      expectInvalid({ [field]: value, sweepIntervalMs: 0 }, field, value)
    })
  }

  it.each([['drop'], ['EVICT'], [''], [1], [null]])('whenFull: rejects %s', (value) => {
    expectInvalid({ whenFull: value, sweepIntervalMs: 0 }, 'whenFull', value)
  })

  it('rejects unknown keys, naming the key (catches typos)', () => {
    expectInvalid({ maxSession: 5, sweepIntervalMs: 0 }, 'maxSession', 5)
    expectInvalid({ ttl: 1000, sweepIntervalMs: 0 }, 'ttl', 1000)
    expectInvalid({ idleTTLMs: 1000, sweepIntervalMs: 0 }, 'idleTTLMs', 1000)
  })

  it('the message has the documented shape', () => {
    const error = construct({ maxSessions: 0 }) as InvalidOptionsError
    expect(error.message).toMatch(/^Expected `maxSessions` to be .+, got `0` \(number\)$/)
  })

  it('constructs nothing on invalid options: no timer is started', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] })
    expect(construct({ maxSessions: 0 })).toBeInstanceOf(InvalidOptionsError)
    expect(construct({ bogus: 1 })).toBeInstanceOf(InvalidOptionsError)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('maxSessions: 1 and other minimal valid values work', () => {
    expect(construct({ maxSessions: 1, maxBytes: 1, idleTtlMs: 1, maxAgeMs: 1, heapHighWaterBytes: 1, sweepIntervalMs: 0 })).toBeUndefined()
  })

  it('the defaults are applied when an option is omitted (maxSessions 100)', () => {
    const store = new BoundedSessionStore<number, object>({ now: () => 0, sweepIntervalMs: 0 })
    for (let i = 0; i < 150; i++) store.set(i, {})
    expect(store.size).toBe(100)
  })
})
