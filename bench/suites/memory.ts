// Issue item 5: memory figures. Each variant runs alone in its own child process started with
// --expose-gc; a figure is the growth of `heapUsed + external` (after repeated full collections)
// caused by the structure alone: its inputs (keys, values, messages) exist before the baseline.
import { LRUCache } from 'lru-cache'
import { type MemoryResult, retainedBytes, sink } from '../harness.js'
import { type Message, prng } from '../data.js'
import { lib } from '../library.js'

const { RingBufferHistory, BoundedSessionStore } = lib

export const memoryVariants = [
  'session-store',
  'session-lru',
  'session-map',
  'empty-history',
  'empty-array',
  'message-overhead-50',
  'message-overhead-1000',
  'message-overhead-array-50',
  'heap-growth-count',
  'heap-growth-claude-mem',
] as const
export type MemoryVariant = (typeof memoryVariants)[number]

function sessionsFigure(variant: 'session-store' | 'session-lru' | 'session-map', n: number): MemoryResult {
  const keys: number[] = []
  const values: { sessionDbId: number }[] = []
  for (let i = 0; i < n; i++) {
    keys.push(i + 1)
    values.push({ sessionDbId: i + 1 })
  }
  // One-time costs of the process (the options schema built on first use, compiled code) are
  // paid by a small instance before the baseline; the measured instance is made after it, so its
  // preallocated storage counts.
  sink.value = build(variant, keys.slice(0, 1000), values.slice(0, 1000))
  sink.value = undefined
  const before = retainedBytes()
  const structure = build(variant, keys, values)
  const after = retainedBytes()
  sink.value = [structure, keys, values]
  const label = { 'session-store': 'BoundedSessionStore', 'session-lru': 'lru-cache (same options)', 'session-map': 'Map' }[variant]
  return { kind: 'memory', id: variant, title: `bytes per stored session: ${label}`, bytes: (after - before) / n, per: n }
}

function build(variant: 'session-store' | 'session-lru' | 'session-map', keys: number[], values: object[]): unknown {
  const n = keys.length
  let structure: unknown
  if (variant === 'session-store') {
    const store = new BoundedSessionStore<number, object>({ maxSessions: n, sweepIntervalMs: 0 })
    for (let i = 0; i < n; i++) store.set(keys[i] as number, values[i] as object)
    structure = store
  } else if (variant === 'session-lru') {
    const lru = new LRUCache<number, object>({ max: n, ttl: 3_600_000, updateAgeOnGet: true })
    for (let i = 0; i < n; i++) lru.set(keys[i] as number, values[i] as object)
    structure = lru
  } else {
    const map = new Map<number, object>()
    for (let i = 0; i < n; i++) map.set(keys[i] as number, values[i] as object)
    structure = map
  }
  return structure
}

function emptyFigure(variant: 'empty-history' | 'empty-array', n: number): MemoryResult {
  const holder: unknown[] = new Array<unknown>(n).fill(undefined)
  // The options schema is built by the first constructor call: a once-per-process cost.
  sink.value = variant === 'empty-history' ? new RingBufferHistory<Message>() : []
  const before = retainedBytes()
  if (variant === 'empty-history') for (let i = 0; i < n; i++) holder[i] = new RingBufferHistory<Message>()
  else for (let i = 0; i < n; i++) holder[i] = []
  const after = retainedBytes()
  sink.value = holder
  const title = variant === 'empty-history' ? 'bytes of an empty RingBufferHistory (default options)' : 'bytes of an empty Array'
  return { kind: 'memory', id: variant, title, bytes: (after - before) / n, per: n }
}

/**
 * The bytes a full history holds beyond its messages and beyond what it held empty, per
 * message. The messages stay referenced from outside, so only the structure is counted.
 */
function overheadFigure(variant: 'message-overhead-50' | 'message-overhead-1000' | 'message-overhead-array-50', total: number): MemoryResult {
  const capacity = variant === 'message-overhead-1000' ? 1000 : 50
  const count = Math.max(1, Math.floor(total / capacity))
  const content = 'x'.repeat(100)
  const messages: Message[] = []
  for (let i = 0; i < count * capacity; i++) messages.push({ role: i % 2 === 0 ? 'user' : 'assistant', content })
  const holders: { push(m: Message): unknown }[] = []
  for (let h = 0; h < count; h++) {
    holders.push(variant === 'message-overhead-array-50' ? [] : new RingBufferHistory<Message>({ maxMessages: capacity }))
  }
  const before = retainedBytes()
  let i = 0
  for (const holder of holders) for (let k = 0; k < capacity; k++) holder.push(messages[i++] as Message)
  const after = retainedBytes()
  sink.value = [holders, messages]
  const title =
    variant === 'message-overhead-array-50'
      ? 'bytes per message of an Array of 50 messages (reference)'
      : `bytes per retained message beyond the message, full history of ${capacity}`
  return { kind: 'memory', id: variant, title, bytes: (after - before) / (count * capacity), per: count * capacity }
}

/** Heap growth over `pushes` pushes into a history that is already full (after as many to warm up). */
function growthFigure(variant: 'heap-growth-count' | 'heap-growth-claude-mem', pushes: number): MemoryResult {
  const rand = prng(0x5eed_0005)
  const pool: Message[] = []
  for (let i = 0; i < 1024; i++) {
    pool.push({ role: i % 2 === 0 ? 'user' : 'assistant', content: 'x'.repeat(1 + Math.floor(rand() * 4000)) })
  }
  const init: Message = { role: 'user', content: '<instructions>' }
  const history =
    variant === 'heap-growth-count'
      ? new RingBufferHistory<Message>()
      : new RingBufferHistory<Message>({
          maxMessages: 50,
          maxTokens: 20_000,
          pin: (m) => m === init,
          startOn: (m) => m.role === 'user',
        })
  history.push(init)
  const run = (): void => {
    for (let i = 0; i < pushes; i++) history.push(pool[i & 1023] as Message)
  }
  run()
  const before = retainedBytes()
  run()
  const after = retainedBytes()
  sink.value = history
  const title =
    variant === 'heap-growth-count'
      ? `heap growth over ${pushes.toLocaleString('en-US')} pushes into a full history (count bound)`
      : `heap growth over ${pushes.toLocaleString('en-US')} pushes into a full history (tokens, pin, startOn)`
  return { kind: 'memory', id: variant, title, bytes: after - before, per: 1, detail: { evicted: history.evictedCount } }
}

export function memorySuite(variant: MemoryVariant, smoke: boolean): MemoryResult[] {
  switch (variant) {
    case 'session-store':
    case 'session-lru':
    case 'session-map':
      return [sessionsFigure(variant, smoke ? 1_000 : 100_000)]
    case 'empty-history':
    case 'empty-array':
      return [emptyFigure(variant, smoke ? 100 : 10_000)]
    case 'message-overhead-50':
    case 'message-overhead-1000':
    case 'message-overhead-array-50':
      return [overheadFigure(variant, smoke ? 2_000 : 100_000)]
    case 'heap-growth-count':
    case 'heap-growth-claude-mem':
      return [growthFigure(variant, smoke ? 10_000 : 1_000_000)]
  }
}
