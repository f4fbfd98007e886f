// Seeded inputs shared by the suites: every key, index and message is precomputed from a fixed
// seed, so runs differ only by the machine, never by the data.

/** mulberry32: a small, fast, seeded PRNG returning floats in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed | 0
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

export type KeyKind = 'number' | 'uuid'

/** `count` distinct small integers (V8 Smis), in random order: database ids such as `sessionDbId`. */
export function numberKeys(count: number, rand: () => number): number[] {
  const seen = new Set<number>()
  const keys: number[] = []
  while (keys.length < count) {
    const k = Math.floor(rand() * 2 ** 30)
    if (!seen.has(k)) {
      seen.add(k)
      keys.push(k)
    }
  }
  return keys
}

const HEX = '0123456789abcdef'

/** `count` distinct UUID-shaped strings (flat, like `crypto.randomUUID()` returns). */
export function uuidKeys(count: number, rand: () => number): string[] {
  const seen = new Set<string>()
  const keys: string[] = []
  const chars: string[] = new Array<string>(36)
  while (keys.length < count) {
    for (let i = 0; i < 36; i++) {
      chars[i] = i === 8 || i === 13 || i === 18 || i === 23 ? '-' : i === 14 ? '4' : (HEX[Math.floor(rand() * 16)] as string)
    }
    const k = chars.join('')
    if (!seen.has(k)) {
      seen.add(k)
      keys.push(k)
    }
  }
  return keys
}

export function keysOf(kind: KeyKind, count: number, rand: () => number): (number | string)[] {
  return kind === 'number' ? numberKeys(count, rand) : uuidKeys(count, rand)
}

/** `count` random indexes in [0, range); `count` is a power of two so a cursor wraps with a mask. */
export function indexes(count: number, range: number, rand: () => number): Uint32Array {
  const out = new Uint32Array(count)
  for (let i = 0; i < count; i++) out[i] = Math.floor(rand() * range)
  return out
}

/** The message shape of the claude-mem worker. */
export interface Message {
  role: 'user' | 'assistant'
  content: string
}

function logUniform(rand: () => number, min: number, max: number): number {
  return Math.round(Math.exp(Math.log(min) + rand() * (Math.log(max) - Math.log(min))))
}

/**
 * A conversation as the claude-mem worker makes it: user prompts of 1k to 32k characters
 * (observation prompts) alternating with replies of about 1 KB. `scale` shrinks every length
 * (smoke mode).
 */
export function messagePool(count: number, rand: () => number, scale = 1): Message[] {
  const out: Message[] = []
  for (let i = 0; i < count; i++) {
    const user = i % 2 === 0
    const length = user ? logUniform(rand, 1_000, 32_000) : logUniform(rand, 400, 2_000)
    out.push({ role: user ? 'user' : 'assistant', content: 'x'.repeat(Math.max(1, Math.round(length * scale))) })
  }
  return out
}
