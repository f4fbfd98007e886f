// Issue 21, "Cost with clocks": the best any cold-trim policy could do on a traffic, computed
// offline with the whole traffic known in advance, so that the goal (cacheTtlMs bills at least 10%
// less than trimTo 0.5 alone, at no less than 0.95× its mean context) can be judged reachable or
// not. The model is the bench's: a history of one burst (the framing prompt pinned, then an
// acknowledgement, then observation prompts and replies), a character budget with trimTo 0.5 and
// startOn user, every call sending the whole history to the prompt-cache meter's rules
// (examples/claude-mem-worker/prompt-cache.ts: ceil(characters / 4) tokens a message, a read of
// the prefix shared with the previous prompt while it lives, writes for the rest, nothing under
// the minimum cached). A cold-trim policy may, at each push that follows a gap over the TTL, keep
// any suffix of whole turns (down to the new prompt alone); every other trim is the budget's.
//
// The bound: for a price λ per token of context, dynamic programming over each burst (state: the
// oldest message kept, and whether the previous prompt is still a prefix of the next) finds the
// policy with the least `bill − λ × context`; for any policy whose context is at least C,
// bill ≥ min(bill − λ × context) + λ × C, for every λ ≥ 0 (Lagrangian duality). The best of those
// lower bounds over a grid of λ is reported: no cold-trim policy bills less at that context.
import type { CachePricing } from '../../examples/claude-mem-worker/prompt-cache.js'

/** One burst as the bound sees it: characters of each message, and the time of each call. */
export interface BoundBurst {
  /** Characters of the pinned framing prompt. */
  framingChars: number
  /** Characters of the acknowledgement pushed after it. */
  ackChars: number
  /** When the history was started (the framing call, the acknowledgement). */
  startAt: number
  /** Per call: when it is made, and the characters of its prompt and of its reply. */
  calls: { at: number; promptChars: number; replyChars: number }[]
}

/** A policy's bill (base-price tokens) and context (tokens summed over every call). */
export interface BillAndContext {
  bill: number
  context: number
  calls: number
}

type Mode = { kind: 'none' } | { kind: 'design'; coldTrimTo: number } | { kind: 'lagrange'; lambda: number }

const tokensOf = (chars: number): number => Math.ceil(chars / 4)

// One burst under a mode: 'none' never trims cold (trimTo 0.5 alone), 'design' trims cold to
// trimTo × the budget (cacheTtlMs), 'lagrange' the best cold trims at price λ.
function burstBill(b: BoundBurst, budgetChars: number, trimTo: number, pricing: CachePricing, mode: Mode): BillAndContext {
  const { readMultiplier: rm, writeMultiplier: wm, ttlMs, minCacheableTokens: min } = pricing
  // The unpinned messages: [ack, p0, r0, p1, r1, ...]; user messages at the odd indexes.
  const chars = [b.ackChars]
  for (const c of b.calls) chars.push(c.promptChars, c.replyChars)
  const n = chars.length
  const prefixChars = new Float64Array(n + 1)
  const prefixTokens = new Float64Array(n + 1)
  for (let i = 0; i < n; i++) {
    prefixChars[i + 1] = (prefixChars[i] as number) + (chars[i] as number)
    prefixTokens[i + 1] = (prefixTokens[i] as number) + tokensOf(chars[i] as number)
  }
  const F = b.framingChars
  const Ft = tokensOf(F)
  const total = (s: number, end: number): number => F + (prefixChars[end + 1] as number) - (prefixChars[s] as number)
  const tokens = (s: number, end: number): number => Ft + (prefixTokens[end + 1] as number) - (prefixTokens[s] as number)
  // The budget's trim of a history [s..end]: drop the oldest until within trimTo × the budget,
  // then any reply left at its head (startOn user); never the newest message.
  const budgetTrim = (s: number, end: number, target: number): number => {
    while (s < end && total(s, end) > target) s++
    while (s < end && s % 2 === 0) s++
    return s
  }
  const trimmedOnPush = (s: number, end: number): number => (total(s, end) > budgetChars ? budgetTrim(s, end, trimTo * budgetChars) : s)
  // The framing call at startAt: alone, the same in every mode.
  let bill0 = Ft >= min ? Ft * wm : Ft
  // DP state: key s * 2 + flag → best objective so far, with its bill and context.
  type Entry = { obj: number; bill: number; context: number }
  let states = new Map<number, Entry>([[0, { obj: 0, bill: 0, context: 0 }]])
  let previousAt = b.startAt
  const lambda = mode.kind === 'lagrange' ? mode.lambda : 0
  for (let i = 0; i < b.calls.length; i++) {
    const call = b.calls[i] as BoundBurst['calls'][number]
    const end = 2 * i + 1
    const cold = call.at - previousAt > ttlMs
    previousAt = call.at
    const next = new Map<number, Entry>()
    for (const [key, entry] of states) {
      const s = key >> 1
      const intact = (key & 1) === 1
      const starts: number[] = []
      if (cold && mode.kind === 'lagrange') {
        // Any suffix of whole turns: the start as it is, or any user message up to the new one.
        starts.push(s)
        for (let t = s + 1; t <= end; t++) if (t % 2 === 1) starts.push(t)
      } else if (cold && mode.kind === 'design' && total(s, end) > mode.coldTrimTo * budgetChars) starts.push(budgetTrim(s, end, mode.coldTrimTo * budgetChars))
      else starts.push(s)
      for (const chosen of starts) {
        const s1 = trimmedOnPush(chosen, end)
        const input = tokens(s1, end)
        const cacheable = input >= min
        const shared = !cold && intact && s1 === s ? tokens(s, end - 2) : Ft
        const read = cacheable && shared >= min ? shared : 0
        const cost = cacheable ? read * rm + (input - read) * wm : input
        const s2 = trimmedOnPush(s1, end + 1)
        const nextKey = s2 * 2 + (cacheable && s2 === s1 ? 1 : 0)
        const obj = entry.obj + cost - lambda * input
        const best = next.get(nextKey)
        if (best === undefined || obj < best.obj) next.set(nextKey, { obj, bill: entry.bill + cost, context: entry.context + input })
      }
    }
    states = next
  }
  let best: Entry | undefined
  for (const entry of states.values()) if (best === undefined || entry.obj < best.obj) best = entry
  bill0 += best?.bill ?? 0
  return { bill: bill0, context: (best?.context ?? 0) + Ft, calls: b.calls.length + 1 }
}

function sum(bursts: readonly BoundBurst[], f: (b: BoundBurst) => BillAndContext): BillAndContext & { objective: number } {
  let bill = 0
  let context = 0
  let calls = 0
  for (const b of bursts) {
    const r = f(b)
    bill += r.bill
    context += r.context
    calls += r.calls
  }
  return { bill, context, calls, objective: 0 }
}

/** What the bound reports for one price table. */
export interface ColdTrimBound {
  /** trimTo 0.5 alone, as this model bills it (to check it against the meter). */
  plain: BillAndContext
  /** trimTo 0.5 with cold trims to trimTo × the budget (the library's `cacheTtlMs`), as this model bills it. */
  design: BillAndContext
  /** The same with cold trims down to `coldTrimTo` × the budget (the library's `coldTrimTo`). */
  designCold: BillAndContext
  /** The lowest bill any cold-trim policy can reach with at least `minContextRatio` × plain's context, ÷ plain's bill. */
  boundBillRatio: number
  /** The context ratio asked for. */
  minContextRatio: number
  /** The policy found at the λ that gave the bound: its bill and context ÷ plain's. */
  atBound: { billRatio: number; contextRatio: number; lambda: number }
}

/** The offline bound on `bursts` (see the top of this file). */
export function coldTrimBound(bursts: readonly BoundBurst[], budgetChars: number, pricing: CachePricing, minContextRatio = 0.95, trimTo = 0.5, coldTrimTo = 0.1): ColdTrimBound {
  const plain = sum(bursts, (b) => burstBill(b, budgetChars, trimTo, pricing, { kind: 'none' }))
  const design = sum(bursts, (b) => burstBill(b, budgetChars, trimTo, pricing, { kind: 'design', coldTrimTo: trimTo }))
  const designCold = sum(bursts, (b) => burstBill(b, budgetChars, trimTo, pricing, { kind: 'design', coldTrimTo }))
  const needContext = minContextRatio * plain.context
  let bound = 0
  let atBound = { billRatio: 1, contextRatio: 1, lambda: 0 }
  // Past the write price a token of context is worth more than it costs to keep: no trims.
  for (let step = 0; step <= 48; step++) {
    const lambda = (step / 48) * pricing.writeMultiplier * 1.1
    const r = sum(bursts, (b) => burstBill(b, budgetChars, trimTo, pricing, { kind: 'lagrange', lambda }))
    const lower = r.bill - lambda * r.context + lambda * needContext
    if (lower > bound) {
      bound = lower
      atBound = { billRatio: r.bill / plain.bill, contextRatio: r.context / plain.context, lambda }
    }
  }
  return { plain, design, designCold, boundBillRatio: bound / plain.bill, minContextRatio, atBound }
}

/** The library's rule with cold trims down to `coldTrimTo` × the budget instead of trimTo: bill and context ÷ trimTo 0.5 alone's. */
export function coldTargetCurve(bursts: readonly BoundBurst[], budgetChars: number, pricing: CachePricing, targets: readonly number[], trimTo = 0.5): { coldTrimTo: number; billRatio: number; contextRatio: number }[] {
  const plain = sum(bursts, (b) => burstBill(b, budgetChars, trimTo, pricing, { kind: 'none' }))
  return targets.map((coldTrimTo) => {
    const r = sum(bursts, (b) => burstBill(b, budgetChars, trimTo, pricing, { kind: 'design', coldTrimTo }))
    return { coldTrimTo, billRatio: r.bill / plain.bill, contextRatio: r.context / plain.context }
  })
}
