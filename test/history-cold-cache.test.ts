import { describe, expect, it } from 'vitest'
import { CacheClock } from '../src/history/cold-cache.js'

describe('CacheClock (the cacheTtlMs rule)', () => {
  it('is cold only when the previous push is more than ttlMs old', () => {
    let t = 1_000
    const clock = new CacheClock(300_000, () => t)
    expect(clock.isCold(clock.read())).toBe(false) // no previous push
    clock.commit(clock.read())
    t += 300_000
    expect(clock.isCold(clock.read())).toBe(false) // exactly ttlMs: still warm
    t += 1
    expect(clock.isCold(clock.read())).toBe(true)
  })

  it('reads without changing anything: a push that throws leaves the rule as it was', () => {
    let t = 0
    const clock = new CacheClock(10, () => t)
    clock.commit(clock.read())
    t = 50
    expect(clock.isCold(clock.read())).toBe(true)
    expect(clock.isCold(clock.read())).toBe(true) // not committed
    clock.commit(clock.read())
    expect(clock.isCold(clock.read())).toBe(false)
  })

  it('never moves back: a clock that steps back does not make a warm cache cold later', () => {
    let t = 1_000
    const clock = new CacheClock(100, () => t)
    clock.commit(clock.read())
    t = 0
    clock.commit(clock.read())
    t = 1_050
    expect(clock.isCold(clock.read())).toBe(false)
  })

  it('forget() makes the next push not cold', () => {
    let t = 0
    const clock = new CacheClock(10, () => t)
    clock.commit(0)
    t = 100
    clock.forget()
    expect(clock.isCold(clock.read())).toBe(false)
  })

  it.each([NaN, Infinity, '5', undefined])('refuses a clock reading of %s with ERR_INVALID_CLOCK', (bad) => {
    const clock = new CacheClock(10, () => bad as number)
    expect(() => clock.read()).toThrow(expect.objectContaining({ code: 'ERR_INVALID_CLOCK' }))
  })
})
