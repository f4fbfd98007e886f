import { describe, expect, it, vi } from 'vitest'
import { InvalidCheckpointError, RingBufferHistory, type HistoryCheckpoint } from '../src/index.js'

interface Msg {
  role: 'system' | 'user' | 'assistant'
  content: string
}
const sys = (content: string): Msg => ({ role: 'system', content })
const user = (content: string): Msg => ({ role: 'user', content })
const asst = (content: string): Msg => ({ role: 'assistant', content })
const names = (h: RingBufferHistory<Msg>): string[] => h.toArray().map((m) => m.content)

function catchError(fn: () => unknown): unknown {
  try {
    fn()
  } catch (e) {
    return e
  }
  return undefined
}

describe('RingBufferHistory: checkpoint and rollback', () => {
  it('rollback removes the messages pushed after the checkpoint and returns how many', () => {
    const h = new RingBufferHistory<Msg>()
    h.push(user('u1'), asst('a1'))
    const cp = h.checkpoint()
    h.push(user('u2 (failed call)'))
    h.push(asst('partial'))
    expect(h.rollback(cp)).toBe(2)
    expect(names(h)).toEqual(['u1', 'a1'])
    expect(h.length).toBe(2)
  })

  it('rollback right after checkpoint removes nothing', () => {
    const h = new RingBufferHistory<Msg>()
    h.push(user('u1'))
    const cp = h.checkpoint()
    expect(h.rollback(cp)).toBe(0)
    expect(names(h)).toEqual(['u1'])
  })

  it('a checkpoint of an empty history rolls back to empty', () => {
    const h = new RingBufferHistory<Msg>()
    const cp = h.checkpoint()
    h.push(user('u1'), asst('a1'))
    expect(h.rollback(cp)).toBe(2)
    expect(h.length).toBe(0)
    h.push(user('u2'))
    expect(names(h)).toEqual(['u2'])
  })

  it('the retry after a rollback does not duplicate the prompt', () => {
    const h = new RingBufferHistory<Msg>()
    h.push(sys('init'))
    const cp = h.checkpoint()
    h.push(user('prompt'))
    h.rollback(cp) // the model call failed
    h.push(user('prompt'), asst('reply'))
    expect(names(h)).toEqual(['init', 'prompt', 'reply'])
  })

  it('messages trimmed after the checkpoint do not come back', () => {
    const h = new RingBufferHistory<number>({ maxMessages: 3 })
    h.push(1, 2, 3)
    const cp = h.checkpoint()
    h.push(4, 5)
    expect(h.toArray()).toEqual([3, 4, 5])
    expect(h.rollback(cp)).toBe(2)
    expect(h.toArray()).toEqual([3])
    expect(h.evictedCount).toBe(2)
  })

  it('when everything pushed after the checkpoint filled the history, rollback empties it', () => {
    const h = new RingBufferHistory<number>({ maxMessages: 3 })
    h.push(1, 2)
    const cp = h.checkpoint()
    h.push(3, 4, 5, 6, 7)
    expect(h.rollback(cp)).toBe(3)
    expect(h.length).toBe(0)
    expect(h.toArray()).toEqual([])
  })

  it('rollback updates bytes and tokens, not evictedCount, and calls no onTrim', () => {
    const onTrim = vi.fn()
    const h = new RingBufferHistory<Msg>({ maxMessages: 3, onTrim, sizeOf: (m) => m.content.length })
    h.push(user('aaaa'), asst('bbbb'))
    const cp = h.checkpoint()
    h.push(user('cccccccc'), asst('dd'))
    expect(onTrim).toHaveBeenCalledTimes(1)
    expect(h.bytes).toBe(14)
    expect(h.tokens).toBe(4)
    expect(h.rollback(cp)).toBe(2)
    expect(names(h)).toEqual(['bbbb'])
    expect(h.bytes).toBe(4)
    expect(h.tokens).toBe(1)
    expect(h.evictedCount).toBe(1)
    expect(onTrim).toHaveBeenCalledTimes(1)
  })

  it('nested checkpoints roll back in turn', () => {
    const h = new RingBufferHistory<number>()
    h.push(1)
    const cp1 = h.checkpoint()
    h.push(2)
    const cp2 = h.checkpoint()
    h.push(3)
    expect(h.rollback(cp2)).toBe(1)
    expect(h.toArray()).toEqual([1, 2])
    expect(h.rollback(cp1)).toBe(1)
    expect(h.toArray()).toEqual([1])
  })

  it('rolling back to an older checkpoint skips the newer ones', () => {
    const h = new RingBufferHistory<number>()
    const cp1 = h.checkpoint()
    h.push(1)
    h.checkpoint()
    h.push(2, 3)
    expect(h.rollback(cp1)).toBe(3)
    expect(h.length).toBe(0)
  })

  it('the same checkpoint can be used again', () => {
    const h = new RingBufferHistory<number>()
    h.push(1)
    const cp = h.checkpoint()
    h.push(2)
    expect(h.rollback(cp)).toBe(1)
    expect(h.rollback(cp)).toBe(0)
    h.push(3, 4)
    expect(h.rollback(cp)).toBe(2)
    expect(h.toArray()).toEqual([1])
  })

  it('a pinned message pushed after the checkpoint is rolled back too, and the older pinned one is protected again', () => {
    const h = new RingBufferHistory<Msg>({ maxMessages: 3, pin: (m) => m.role === 'system' })
    h.push(sys('p1'), user('u1'))
    const cp = h.checkpoint()
    h.push(sys('p2'))
    expect(h.rollback(cp)).toBe(1)
    expect(names(h)).toEqual(['p1', 'u1'])
    h.push(asst('a1'), user('u2'), asst('a2'))
    expect(names(h)).toEqual(['p1', 'u2', 'a2'])
  })

  it('clear() and reset() withdraw every checkpoint made before them', () => {
    const h = new RingBufferHistory<number>()
    h.push(1, 2)
    const cp = h.checkpoint()
    h.push(3)
    h.clear()
    expect(() => h.rollback(cp)).toThrow(InvalidCheckpointError)
    h.push(4)
    const cp2 = h.checkpoint()
    h.reset([5, 6])
    expect(() => h.rollback(cp2)).toThrow(InvalidCheckpointError)
    expect(h.toArray()).toEqual([5, 6])
    const cp3 = h.checkpoint()
    h.push(7)
    expect(h.rollback(cp3)).toBe(1)
  })

  it('`length =` withdraws the checkpoints made after the first message it removes, and keeps the others', () => {
    const h = new RingBufferHistory<number>()
    h.push(1)
    const cp1 = h.checkpoint()
    h.push(2)
    const cp2 = h.checkpoint()
    h.push(3)
    const cp3 = h.checkpoint()
    h.length = 2 // removes 3: like a rollback to cp2
    expect(() => h.rollback(cp3)).toThrow(InvalidCheckpointError)
    h.push(4)
    expect(h.rollback(cp2)).toBe(1)
    h.length = 0 // removes 1 and 2, pushed before cp1
    expect(() => h.rollback(cp1)).toThrow(InvalidCheckpointError)
    expect(h.length).toBe(0)
  })

  it('a checkpoint taken after a rollback survives a later rollback that removes nothing (positions do not count rolled-back pushes)', () => {
    const h = new RingBufferHistory<number>()
    const cp1 = h.checkpoint()
    h.push(1)
    h.rollback(cp1)
    const cp2 = h.checkpoint()
    expect(cp2.position).toBe(cp1.position)
    expect(h.rollback(cp1)).toBe(0)
    h.push(2)
    expect(h.rollback(cp2)).toBe(1)
    expect(h.length).toBe(0)
  })

  it('rolling back to a checkpoint keeps it and the older ones valid, and the later ones withdrawn', () => {
    const h = new RingBufferHistory<number>()
    const cp0 = h.checkpoint()
    h.push(1)
    const cp1 = h.checkpoint()
    h.push(2)
    const cp2 = h.checkpoint()
    h.push(3)
    expect(h.rollback(cp1)).toBe(2)
    expect(() => h.rollback(cp2)).toThrow(InvalidCheckpointError)
    h.push(9)
    expect(h.rollback(cp1)).toBe(1)
    expect(h.rollback(cp0)).toBe(1)
    expect(h.length).toBe(0)
  })

  it('a checkpoint from another history throws InvalidCheckpointError and changes nothing', () => {
    const a = new RingBufferHistory<number>()
    const b = new RingBufferHistory<number>()
    a.push(1, 2, 3)
    b.push(1, 2, 3)
    const cpA = a.checkpoint()
    a.push(4)
    b.push(4)
    const err = catchError(() => b.rollback(cpA))
    expect(err).toBeInstanceOf(InvalidCheckpointError)
    expect(err).toBeInstanceOf(TypeError)
    expect(err).toMatchObject({ code: 'ERR_INVALID_CHECKPOINT' })
    expect(b.toArray()).toEqual([1, 2, 3, 4])
    expect(a.rollback(cpA)).toBe(1)
  })

  it('a forged checkpoint throws InvalidCheckpointError', () => {
    const h = new RingBufferHistory<number>()
    h.push(1, 2, 3)
    expect(() => h.rollback({ position: 0 } as HistoryCheckpoint)).toThrow(InvalidCheckpointError)
    expect(() => h.rollback({ position: 1 } as HistoryCheckpoint)).toThrow(InvalidCheckpointError)
    expect(() => h.rollback(null as unknown as HistoryCheckpoint)).toThrow(InvalidCheckpointError)
    expect(h.toArray()).toEqual([1, 2, 3])
  })

  it('a checkpoint from the future (taken after what a rollback undid) throws InvalidCheckpointError', () => {
    const h = new RingBufferHistory<number>()
    h.push(1)
    const cp1 = h.checkpoint()
    h.push(2, 3)
    const cp2 = h.checkpoint()
    h.rollback(cp1)
    const err = catchError(() => h.rollback(cp2))
    expect(err).toBeInstanceOf(InvalidCheckpointError)
    expect(h.toArray()).toEqual([1])
  })

  it('a checkpoint withdrawn by a rollback stays withdrawn after new pushes', () => {
    const h = new RingBufferHistory<Msg>({ maxMessages: 10 })
    h.push(user('u1'))
    const cp1 = h.checkpoint()
    h.push(user('u2'), asst('a2'))
    const cp2 = h.checkpoint()
    h.rollback(cp1)
    h.push(user('x'), asst('y'), user('z'))
    expect((catchError(() => h.rollback(cp2)) as { code?: string }).code).toBe('ERR_INVALID_CHECKPOINT')
    expect(names(h)).toEqual(['u1', 'x', 'y', 'z'])
    // The checkpoint rolled back to is still good, and so is one made on the new line.
    const cp3 = h.checkpoint()
    h.push(asst('w'))
    expect(h.rollback(cp3)).toBe(1)
    expect(h.rollback(cp1)).toBe(3)
    expect(names(h)).toEqual(['u1'])
  })
})
