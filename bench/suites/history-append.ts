// Issue item 1: appending to a full history. Every variant pushes the same precomputed sequence
// of messages into a structure already at capacity.
import Denque from 'denque'
import { CircularBuffer } from 'mnemonist'
import { type Variant, type Settings, type SpeedResult, compare, sink } from '../harness.js'
import { type Message, indexes, messagePool, prng } from '../data.js'
import { lib } from '../library.js'

const { RingBufferHistory, defaultSizeOf, defaultCountTokens } = lib
type History = InstanceType<typeof RingBufferHistory<Message>>

const OPS = 1000
const POOL = 1024
const SEQUENCE = 1 << 16
const MASK = SEQUENCE - 1

function inputs(smoke: boolean) {
  const rand = prng(0x5eed_0001)
  const pool = messagePool(POOL, rand, smoke ? 0.01 : 1)
  const order = indexes(SEQUENCE, POOL, rand)
  let bytes = 0
  let tokens = 0
  for (const m of pool) {
    bytes += defaultSizeOf(m)
    tokens += defaultCountTokens(m)
  }
  return { pool, order, meanBytes: bytes / POOL, meanTokens: tokens / POOL }
}

/** Budgets that bind about as often as the count does: byte and token accounting both at work. */
function budgeted(capacity: number, meanBytes: number, meanTokens: number): History {
  return new RingBufferHistory<Message>({
    maxMessages: capacity,
    maxBytes: Math.ceil(capacity * meanBytes),
    maxTokens: Math.ceil(capacity * meanTokens),
  })
}

/** Fills each structure past its capacity so that every measured push is a steady-state push. */
function fill(push: (m: Message) => void, pool: Message[], order: Uint32Array, capacity: number): void {
  for (let i = 0; i < capacity + 2 * OPS; i++) push(pool[order[i & MASK] as number] as Message)
}

/**
 * A plain ring (an array and a head index) whose caller keeps byte and token budgets with the same
 * default measures: what a user who wants speed and budgets without this package would write. It
 * measures each message on the way in and again on the way out.
 */
class PlainAccountedRing {
  readonly buf: (Message | undefined)[]
  head = 0
  size = 0
  bytes = 0
  tokens = 0
  constructor(
    readonly capacity: number,
    readonly maxBytes: number,
    readonly maxTokens: number,
  ) {
    this.buf = new Array<Message | undefined>(capacity).fill(undefined)
  }

  push(m: Message): void {
    const cap = this.capacity
    if (this.size === cap) this.#dropOldest()
    let p = this.head + this.size
    if (p >= cap) p -= cap
    this.buf[p] = m
    this.size++
    this.bytes += defaultSizeOf(m)
    this.tokens += defaultCountTokens(m)
    while (this.bytes > this.maxBytes || this.tokens > this.maxTokens) this.#dropOldest()
  }

  #dropOldest(): void {
    const old = this.buf[this.head] as Message
    this.buf[this.head] = undefined
    this.bytes -= defaultSizeOf(old)
    this.tokens -= defaultCountTokens(old)
    if (++this.head === this.capacity) this.head = 0
    this.size--
  }
}

export function appendSuite(capacity: number, smoke: boolean, settings: Settings): SpeedResult[] {
  const { pool, order, meanBytes, meanTokens } = inputs(smoke)
  const ringCount = new RingBufferHistory<Message>({ maxMessages: capacity })
  const ringBudget = budgeted(capacity, meanBytes, meanTokens)
  const splice: Message[] = []
  const shift: Message[] = []
  const circular = new CircularBuffer<Message>(Array, capacity)
  const denque = new Denque<Message>([], { capacity })
  // For reference: CircularBuffer with the same byte and token budgets, kept by the caller with
  // the same measures (what a user of a plain ring would write). It re-measures what it drops.
  const accounted = new CircularBuffer<Message>(Array, capacity)
  const maxBytes = Math.ceil(capacity * meanBytes)
  const maxTokens = Math.ceil(capacity * meanTokens)
  let accBytes = 0
  let accTokens = 0
  const plain = new PlainAccountedRing(capacity, maxBytes, maxTokens)

  fill((m) => ringCount.push(m), pool, order, capacity)
  fill((m) => ringBudget.push(m), pool, order, capacity)
  fill((m) => {
    splice.push(m)
    if (splice.length > capacity) splice.splice(0, splice.length - capacity)
  }, pool, order, capacity)
  fill((m) => {
    shift.push(m)
    if (shift.length > capacity) shift.shift()
  }, pool, order, capacity)
  fill((m) => circular.push(m), pool, order, capacity)
  fill((m) => denque.push(m), pool, order, capacity)
  fill((m) => plain.push(m), pool, order, capacity)
  fill((m) => {
    if (accounted.size === capacity) {
      const old = accounted.shift() as Message
      accBytes -= defaultSizeOf(old)
      accTokens -= defaultCountTokens(old)
    }
    accounted.push(m)
    accBytes += defaultSizeOf(m)
    accTokens += defaultCountTokens(m)
    while (accBytes > maxBytes || accTokens > maxTokens) {
      const old = accounted.shift() as Message
      accBytes -= defaultSizeOf(old)
      accTokens -= defaultCountTokens(old)
    }
  }, pool, order, capacity)

  let c1 = 0
  let c2 = 0
  let c3 = 0
  let c4 = 0
  let c5 = 0
  let c6 = 0
  let c7 = 0
  let c8 = 0
  const variants: Variant[] = [
    {
      name: 'RingBufferHistory (count)',
      run() {
        const h = ringCount
        for (let k = 0; k < OPS; k++) {
          h.push(pool[order[c1] as number] as Message)
          c1 = (c1 + 1) & MASK
        }
      },
    },
    {
      name: 'RingBufferHistory (count+bytes+tokens)',
      run() {
        const h = ringBudget
        for (let k = 0; k < OPS; k++) {
          h.push(pool[order[c2] as number] as Message)
          c2 = (c2 + 1) & MASK
        }
      },
    },
    {
      name: 'Array push + splice(0, n)',
      run() {
        const a = splice
        for (let k = 0; k < OPS; k++) {
          a.push(pool[order[c3] as number] as Message)
          if (a.length > capacity) a.splice(0, a.length - capacity)
          c3 = (c3 + 1) & MASK
        }
      },
    },
    {
      name: 'Array push + shift',
      run() {
        const a = shift
        for (let k = 0; k < OPS; k++) {
          a.push(pool[order[c4] as number] as Message)
          if (a.length > capacity) a.shift()
          c4 = (c4 + 1) & MASK
        }
      },
    },
    {
      name: 'mnemonist CircularBuffer',
      run() {
        const b = circular
        for (let k = 0; k < OPS; k++) {
          b.push(pool[order[c5] as number] as Message)
          c5 = (c5 + 1) & MASK
        }
      },
    },
    {
      name: 'CircularBuffer + byte+token accounting by the caller',
      run() {
        const b = accounted
        for (let k = 0; k < OPS; k++) {
          const m = pool[order[c7] as number] as Message
          if (b.size === capacity) {
            const old = b.shift() as Message
            accBytes -= defaultSizeOf(old)
            accTokens -= defaultCountTokens(old)
          }
          b.push(m)
          accBytes += defaultSizeOf(m)
          accTokens += defaultCountTokens(m)
          while (accBytes > maxBytes || accTokens > maxTokens) {
            const old = b.shift() as Message
            accBytes -= defaultSizeOf(old)
            accTokens -= defaultCountTokens(old)
          }
          c7 = (c7 + 1) & MASK
        }
      },
    },
    {
      name: 'plain ring + byte+token accounting by the caller',
      run() {
        const b = plain
        for (let k = 0; k < OPS; k++) {
          b.push(pool[order[c8] as number] as Message)
          c8 = (c8 + 1) & MASK
        }
      },
    },
    {
      name: 'denque (capacity)',
      run() {
        const d = denque
        for (let k = 0; k < OPS; k++) {
          d.push(pool[order[c6] as number] as Message)
          c6 = (c6 + 1) & MASK
        }
      },
    },
  ]
  const result = compare(`append-${capacity}`, `History append, capacity ${capacity}`, OPS, variants, settings)
  if (ringCount.length !== capacity || circular.size !== capacity || denque.length !== capacity || shift.length !== capacity) {
    throw new Error('append: a structure is not at capacity')
  }
  sink.value = [splice.length, ringBudget.length]
  return [result]
}

/** One process, one literal per capacity: does a push cost the same at every capacity? */
export function appendScalingSuite(capacities: [number, number, number], smoke: boolean, settings: Settings): SpeedResult[] {
  const { pool, order, meanBytes, meanTokens } = inputs(smoke)
  const [small, medium, large] = capacities
  const c1 = new RingBufferHistory<Message>({ maxMessages: small })
  const c2 = new RingBufferHistory<Message>({ maxMessages: medium })
  const c3 = new RingBufferHistory<Message>({ maxMessages: large })
  const b1 = budgeted(small, meanBytes, meanTokens)
  const b2 = budgeted(medium, meanBytes, meanTokens)
  const b3 = budgeted(large, meanBytes, meanTokens)
  for (const [h, cap] of [[c1, small], [c2, medium], [c3, large], [b1, small], [b2, medium], [b3, large]] as const) {
    fill((m) => h.push(m), pool, order, cap)
  }
  let i1 = 0
  let i2 = 0
  let i3 = 0
  let j1 = 0
  let j2 = 0
  let j3 = 0
  const count: Variant[] = [
    {
      name: `count, capacity ${small}`,
      run() {
        const h = c1
        for (let k = 0; k < OPS; k++) {
          h.push(pool[order[i1] as number] as Message)
          i1 = (i1 + 1) & MASK
        }
      },
    },
    {
      name: `count, capacity ${medium}`,
      run() {
        const h = c2
        for (let k = 0; k < OPS; k++) {
          h.push(pool[order[i2] as number] as Message)
          i2 = (i2 + 1) & MASK
        }
      },
    },
    {
      name: `count, capacity ${large}`,
      run() {
        const h = c3
        for (let k = 0; k < OPS; k++) {
          h.push(pool[order[i3] as number] as Message)
          i3 = (i3 + 1) & MASK
        }
      },
    },
  ]
  const budget: Variant[] = [
    {
      name: `budgets, capacity ${small}`,
      run() {
        const h = b1
        for (let k = 0; k < OPS; k++) {
          h.push(pool[order[j1] as number] as Message)
          j1 = (j1 + 1) & MASK
        }
      },
    },
    {
      name: `budgets, capacity ${medium}`,
      run() {
        const h = b2
        for (let k = 0; k < OPS; k++) {
          h.push(pool[order[j2] as number] as Message)
          j2 = (j2 + 1) & MASK
        }
      },
    },
    {
      name: `budgets, capacity ${large}`,
      run() {
        const h = b3
        for (let k = 0; k < OPS; k++) {
          h.push(pool[order[j3] as number] as Message)
          j3 = (j3 + 1) & MASK
        }
      },
    },
  ]
  return [
    compare('append-scaling-count', 'RingBufferHistory push by capacity (count bound)', OPS, count, settings),
    compare('append-scaling-budget', 'RingBufferHistory push by capacity (count+bytes+tokens)', OPS, budget, settings),
  ]
}

const HOT_POOL = 4096
const HOT_CAPACITY = 1000

/**
 * A small, hot pool: 4,096 short messages (a few hundred bytes each, all in the CPU cache),
 * capacity 1,000, byte and token budgets that never trim. What is left is the history's own
 * overhead, against a plain ring whose caller keeps the same budgets.
 */
export function appendHotSuite(settings: Settings): SpeedResult[] {
  const rand = prng(0x5eed_0002)
  const pool: Message[] = []
  for (let i = 0; i < HOT_POOL; i++) {
    pool.push({ role: i % 2 === 0 ? 'user' : 'assistant', content: 'x'.repeat(20 + Math.floor(rand() * 200)) })
  }
  const order = indexes(SEQUENCE, HOT_POOL, rand)
  // Budgets far above what 1,000 of these messages hold: they are checked on every push, never met.
  const maxBytes = HOT_CAPACITY * 1_000
  const maxTokens = HOT_CAPACITY * 1_000
  const ring = new RingBufferHistory<Message>({ maxMessages: HOT_CAPACITY, maxBytes, maxTokens })
  const plain = new PlainAccountedRing(HOT_CAPACITY, maxBytes, maxTokens)
  fill((m) => ring.push(m), pool, order, HOT_CAPACITY)
  fill((m) => plain.push(m), pool, order, HOT_CAPACITY)
  let c1 = 0
  let c2 = 0
  const variants: Variant[] = [
    {
      name: 'RingBufferHistory (count+bytes+tokens)',
      run() {
        const h = ring
        for (let k = 0; k < OPS; k++) {
          h.push(pool[order[c1] as number] as Message)
          c1 = (c1 + 1) & MASK
        }
      },
    },
    {
      name: 'plain ring + byte+token accounting by the caller',
      run() {
        const b = plain
        for (let k = 0; k < OPS; k++) {
          b.push(pool[order[c2] as number] as Message)
          c2 = (c2 + 1) & MASK
        }
      },
    },
  ]
  const result = compare('append-hot', `History append, hot pool of ${HOT_POOL} short messages, capacity ${HOT_CAPACITY}`, OPS, variants, settings)
  if (ring.length !== HOT_CAPACITY || plain.size !== HOT_CAPACITY) throw new Error('append-hot: a structure is not at capacity')
  return [result]
}
