import { InvalidCheckpointError, TrimCallbackError } from '../errors.js'
import type { HistoryWatcher } from '../history-watch.js'
import { Checkpoints } from './checkpoints.js'
import type { CacheClock } from './cold-cache.js'
import { Groups } from './groups.js'
import { checkedMeasure, measured, measureDefault } from './measures.js'
import type { Config } from './options.js'
import { PINNED, type Ring } from './ring.js'
import type { SnapshotFields } from './snapshot.js'
import { type Measured, Trimmer } from './trim.js'
import type { HistoryCheckpoint } from './types.js'

// Every change to one history except the fast push, which RingBufferHistory keeps inline and
// which hands anything unusual to pushMeasured here: the general push path (measure, fit,
// append, trim: trim.ts), replacing the content (reset, restore), taking messages back (clear,
// rollback, `length =`), and the watchers (the session stores that weigh the history).
// Invariant: callbacks (watchers, onTrim, onShrink) run only in afterChange, once the ring is
// consistent; every one is told even if one throws, then the first error is thrown.

/** Writes to one history's ring: everything but the fast push, and the callbacks after each change. */
export class HistoryWriter<T> {
  readonly trimmer: Trimmer<T>
  readonly groups: Groups<T> | undefined
  /** The session stores that weigh the history; undefined when none does (the fast push checks). */
  watchers: HistoryWatcher[] | undefined
  // Which checkpoints are valid; made on the first checkpoint().
  #checkpoints: Checkpoints | undefined

  constructor(
    readonly ring: Ring<T>,
    cfg: Config<T>,
  ) {
    // Groups find messages by their push positions.
    if (cfg.group !== undefined) ring.sequence()
    this.groups = cfg.group === undefined ? undefined : new Groups(cfg.group, ring)
    this.trimmer = new Trimmer(ring, cfg, this.groups)
  }

  // A push with cacheTtlMs: the clock is read first (a bad reading changes nothing); a push that
  // finds the cache cold trims cold before its first message goes in (trim.ts). The push counts
  // for the clock once it has taken effect (also when onTrim threw afterwards).
  pushTimed(messages: T[], extraFlags: number): void {
    const clock = this.trimmer.cfg.clock as CacheClock
    const at = clock.read()
    clock.coldPush = clock.isCold(at)
    try {
      if (messages.length === 1) this.pushOne(messages[0] as T, extraFlags)
      else this.pushMany(messages, extraFlags)
    } catch (error) {
      if (error instanceof TrimCallbackError) clock.commit(at)
      throw error
    } finally {
      clock.coldPush = false
    }
    clock.commit(at)
  }

  pushOne(message: T, extraFlags: number): void {
    const cfg = this.trimmer.cfg
    let size: number
    let tokens: number
    if (cfg.defaultMeasures) {
      // Both defaults in one walk; they cannot return an invalid number.
      measureDefault(message)
      size = measured.bytes
      tokens = measured.tokens
    } else {
      size = checkedMeasure(cfg.sizeOf, message, 'sizeOf')
      tokens = checkedMeasure(cfg.countTokens, message, 'countTokens')
    }
    this.pushMeasured(message, size, tokens, (cfg.flagged ? this.trimmer.flagsOf(message) : 0) | extraFlags)
  }

  // The general path once a message is measured: make sure it fits (shrinking it if it must and
  // may), append it, report the change.
  pushMeasured(message: T, size: number, tokens: number, flags: number): void {
    const links = this.groups?.readOne(message)
    const original = message
    const fitted = this.trimmer.fitOne(message, size, tokens, flags)
    if (fitted !== undefined) {
      message = fitted.message
      size = fitted.size
      tokens = fitted.tokens
    }
    const bytesBefore = this.ring.bytes
    this.trimmer.append(message, size, tokens, flags, links)
    if (fitted !== undefined) this.trimmer.noteShrunk(original, message)
    if (this.watchers !== undefined || this.trimmer.hasGroups) this.afterChange(bytesBefore)
  }

  pushMany(messages: T[], extraFlags: number): void {
    const measured = this.trimmer.prepare(messages, () => extraFlags, false)
    const bytesBefore = this.ring.bytes
    this.trimmer.appendAll(messages, measured)
    this.afterChange(bytesBefore)
  }

  /** reset(): `list` replaces the content; a message held pinned that is given again stays pinned. */
  reset(list: T[]): void {
    const pinned = this.#pinnedMessages()
    this.#replace(list, this.trimmer.prepare(list, pinned === undefined ? () => 0 : (i) => (pinned.has(list[i] as T) ? PINNED : 0), true))
  }

  /** restore(): a snapshot's messages, pins and `evictedCount` replace the content. */
  restore(fields: SnapshotFields): void {
    const { pinned } = fields
    const list = fields.messages as T[]
    // A snapshot may start with the results of a group cut at its start: taken as they were held.
    const measured = this.trimmer.prepare(list, (i) => (pinned.has(i) ? PINNED : 0), true, true)
    // A subclass's constructor may have pushed messages of its own: the snapshot replaces them.
    this.#replace(list, measured, fields.evictedCount)
  }

  #replace(list: T[], measured: Measured<T>, evictedCount?: number): void {
    const bytesBefore = this.ring.bytes
    this.#checkpoints?.wentBackTo(-1)
    this.groups?.forgetAll()
    this.ring.empty()
    if (evictedCount !== undefined) this.ring.evicted = evictedCount
    this.trimmer.appendAll(list, measured)
    this.afterChange(bytesBefore)
  }

  /** clone(): the content and counters of `source` (a history without groups) replace this one's. */
  copyFrom(source: HistoryWriter<T>): void {
    // Replaces whatever the constructor (a subclass's) pushed.
    this.#checkpoints?.wentBackTo(-1)
    this.ring.copyFrom(source.ring)
  }

  // The messages held pinned (by `pin` or pushPinned), for reset(); undefined when none is.
  #pinnedMessages(): Set<T> | undefined {
    const ring = this.ring
    if (ring.flags === undefined) return undefined
    let set: Set<T> | undefined
    for (let i = 0; i < ring.len; i++) if ((ring.flagAt(i) & PINNED) !== 0) (set ??= new Set()).add(ring.at(i))
    return set
  }

  /** `length = value` (checked): keeps the oldest `value` messages. */
  truncate(value: number): void {
    const ring = this.ring
    if (value >= ring.len) return
    // Like a rollback to just before the first message removed.
    this.#goBackTo(ring.seqs === undefined ? ring.pushed - (ring.len - value) : (ring.seqs[ring.slot(value)] as number))
    this.#removeNewest(ring.len - value)
  }

  /** Removes every message and frees the storage; withdraws every checkpoint. */
  clear(): void {
    this.#checkpoints?.wentBackTo(-1)
    this.groups?.forgetAll()
    this.#removeNewest(this.ring.len)
  }

  /** A checkpoint at the current end. */
  checkpoint(): HistoryCheckpoint {
    this.ring.sequence()
    return (this.#checkpoints ??= new Checkpoints()).issue(this.ring.pushed)
  }

  /**
   * Removes the messages pushed after `checkpoint` that are still held.
   *
   * @returns how many were removed
   * @throws {@link InvalidCheckpointError} for anything but a valid checkpoint of this history
   */
  rollback(checkpoint: HistoryCheckpoint): number {
    if (this.#checkpoints === undefined || !this.#checkpoints.isValid(checkpoint)) throw new InvalidCheckpointError(checkpoint)
    const ring = this.ring
    const position = checkpoint.position
    const seqs = ring.seqs
    let removed = 0
    while (seqs !== undefined && removed < ring.len && (seqs[ring.slot(ring.len - 1 - removed)] as number) >= position) removed++
    this.#goBackTo(position)
    if (removed > 0) this.#removeNewest(removed)
    return removed
  }

  // Removes the newest `count` messages (all of them frees the storage). Not trimming.
  #removeNewest(count: number): void {
    const bytesBefore = this.ring.bytes
    if (count < this.ring.len) this.ring.dropNewest(count)
    else this.ring.empty()
    this.afterChange(bytesBefore)
  }

  // The history goes back to `position`: checkpoints made after it are withdrawn, and the next
  // push takes that position again.
  #goBackTo(position: number): void {
    this.#checkpoints?.wentBackTo(position)
    this.groups?.forgetFrom(position)
    this.ring.rewind(position)
  }

  /** Subscribes (`subscribe` true) or unsubscribes a session store that weighs the history. */
  watch(watcher: HistoryWatcher, subscribe: boolean): void {
    const watchers = this.watchers
    if (subscribe) {
      if (watchers === undefined) this.watchers = [watcher]
      else if (!watchers.includes(watcher)) watchers.push(watcher)
    } else if (watchers !== undefined) {
      const i = watchers.indexOf(watcher)
      if (i >= 0) watchers.splice(i, 1)
      if (watchers.length === 0) this.watchers = undefined
    }
  }

  /**
   * Tells the watchers and onTrim/onShrink, once the history is consistent. Every one is told
   * even if one throws; then the first error is thrown.
   *
   * @param bytesBefore - the ring's bytes before the change
   */
  afterChange(bytesBefore: number): void {
    const delta = this.ring.bytes - bytesBefore
    const watchers = this.watchers
    const groups = this.trimmer.takeGroups()
    let failed = false
    let error: unknown
    if (delta !== 0 && watchers !== undefined) {
      // A copy: a watcher may unsubscribe meanwhile.
      for (const watcher of watchers.length === 1 ? watchers : watchers.slice()) {
        try {
          watcher.historyResized(delta)
        } catch (e) {
          if (!failed) {
            failed = true
            error = e
          }
        }
      }
    }
    const onTrim = this.trimmer.cfg.onTrim
    if (groups !== undefined && onTrim !== undefined) {
      for (const group of groups) {
        try {
          const summary = { messages: group.messages.length, bytes: group.bytes, tokens: group.tokens }
          onTrim(group.messages, group.reason, group.cold ? { ...summary, cold: true } : summary)
        } catch (e) {
          if (!failed) {
            failed = true
            error = new TrimCallbackError(e)
          }
        }
      }
    }
    const shrunk = this.trimmer.takeShrunk()
    const onShrink = this.trimmer.cfg.onShrink
    if (shrunk !== undefined && onShrink !== undefined) {
      for (const [original, replaced] of shrunk) {
        try {
          onShrink(original, replaced)
        } catch (e) {
          if (!failed) {
            failed = true
            error = new TrimCallbackError(e, 'onShrink')
          }
        }
      }
    }
    if (failed) throw error
  }
}
