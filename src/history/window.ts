import { type Budget, trimTarget } from './budget.js'
import { type Ring, STARTS_TURN, TIED } from './ring.js'

// window(): the messages to send under a tighter budget. A sliding window is cut afresh on
// every call; a stable one (trimTo below 1) remembers its first message (ring.cutSeq, a push
// position) and keeps it while the window from it fits, then steps to where the window fits
// trimTo × the budget.

/** The window of `ring` under `budget`. `startOn`: whether turns are marked; `grouped`: whether `group` is set. */
export function windowOf<T>(ring: Ring<T>, budget: Budget, startOn: boolean, grouped = false): T[] {
  const b = budget
  if (ring.len === 0) return []
  if (b.trimTo === 1) return windowFor(ring, startOn, b.maxMessages, b.maxBytes, b.maxTokens, -1) as T[]
  ring.sequence()
  // The cut stays while the window from it fits; with no cut yet (or one trimmed away) the
  // window starts at the oldest message if everything fits.
  const seqs = ring.seqs as Float64Array
  const anchor = ring.cutSeq >= 0 ? ring.cutSeq : (seqs[ring.head] as number)
  const kept = windowFor(ring, startOn, b.maxMessages, b.maxBytes, b.maxTokens, anchor)
  if (kept !== undefined) {
    ring.cutSeq = anchor
    return kept
  }
  if (ring.cutSeq >= 0) {
    const whole = windowFor(ring, startOn, b.maxMessages, b.maxBytes, b.maxTokens, seqs[ring.head] as number)
    if (whole !== undefined) {
      ring.cutSeq = seqs[ring.head] as number
      return whole
    }
  }
  const t = b.trimTo
  const start = { found: true }
  const stepped = windowFor(ring, startOn, trimTarget(t, b.maxMessages), trimTarget(t, b.maxBytes), trimTarget(t, b.maxTokens), -1, true, start) as T[]
  // With group, the target is only a target: when meeting it would leave out the newest group,
  // or (with startOn) start after the newest turn's start, the window is cut under the budget.
  if (!grouped || start.found) return stepped
  return windowFor(ring, startOn, b.maxMessages, b.maxBytes, b.maxTokens, -1, true) as T[]
}

// The window under these limits. With `anchor` (a sequence number), the window that starts at
// that message, or undefined when it is gone or what follows it no longer fits. With
// `remember`, the sequence number of the window's first message becomes the anchor. `start.found`
// becomes false when the window had to be cut and no message it holds may start it (inside the
// newest group: left out; with startOn, no turn start: the newest message on its own).
function windowFor<T>(
  ring: Ring<T>,
  startOn: boolean,
  maxMessages: number,
  maxBytes: number,
  maxTokens: number,
  anchor: number,
  remember = false,
  start?: { found: boolean },
): T[] | undefined {
  const n = ring.len
  const prot = ring.prot
  // Defined whenever anchor >= 0 or remember: windowOf sequences the ring first.
  const seqs = ring.seqs as Float64Array
  const newest = n - 1
  let k = prot.length - 1
  const newestProtected = k >= 0 && prot[k] === newest
  if (newestProtected) k--
  const pn = ring.slot(newest)
  let count = prot.length + (newestProtected ? 0 : 1)
  let bytes = ring.protBytes + (newestProtected ? 0 : (ring.sizes[pn] as number))
  let tokens = ring.protTokens + (newestProtected ? 0 : (ring.counts[pn] as number))
  let cut = newest
  let found = anchor >= 0 && seqs[pn] === anchor
  // Walk back from the newest while messages fit; protected ones are already counted.
  for (let i = newest - 1; i >= 0 && !found; i--) {
    const p = ring.slot(i)
    if (anchor >= 0 && (seqs[p] as number) < anchor) return undefined
    if (k >= 0 && prot[k] === i) {
      k--
      cut = i
    } else {
      const b = ring.sizes[p] as number
      const t = ring.counts[p] as number
      if (count + 1 > maxMessages || bytes + b > maxBytes || tokens + t > maxTokens) {
        if (anchor >= 0) return undefined
        break
      }
      count++
      bytes += b
      tokens += t
      cut = i
    }
    if (anchor >= 0 && seqs[p] === anchor) found = true
  }
  // A window never starts inside a group (the remembered cut may have been tied since).
  if (anchor >= 0 && (!found || (ring.flagAt(cut) & TIED) !== 0)) return undefined
  const leftOut = cut - (k + 1) > 0
  if (anchor < 0 && (leftOut || (ring.flagAt(cut) & TIED) !== 0) && (startOn || ring.flags !== undefined)) {
    // Protected indexes below the cut are prot[0..k]; skip those within [cut, newest) too.
    let j = k + 1
    while (cut < newest) {
      if (j < prot.length && prot[j] === cut) {
        j++
        cut++
        continue
      }
      const f = ring.flagAt(cut)
      if ((!startOn || (f & STARTS_TURN) !== 0) && (f & TIED) === 0) break
      cut++
    }
    const f = ring.flagAt(cut)
    if (start !== undefined && cut === newest && ((startOn && (f & STARTS_TURN) === 0) || (f & TIED) !== 0)) start.found = false
    // Inside the newest group, which the budget cannot hold whole: the window leaves it out
    // (fewer messages, never a result without its call).
    if ((f & TIED) !== 0) cut = n
  }
  // The protected messages before the cut: prot[0..below).
  let below = 0
  while (below < prot.length && (prot[below] as number) < cut) below++
  if (remember) {
    // The window's first message, as sent: the protected messages right before the cut are in
    // it too, and stay in it when a newer pin displaces them.
    let first = cut
    for (let j = below; j > 0 && prot[j - 1] === first - 1; j--) first--
    ring.cutSeq = cut === n ? -1 : (seqs[ring.slot(first)] as number)
  }
  // The protected messages before the cut, then everything from the cut: never the whole history.
  const out: T[] = []
  for (let j = 0; j < below; j++) out.push(ring.at(prot[j] as number))
  for (let i = cut; i < n; i++) out.push(ring.at(i))
  return out
}
