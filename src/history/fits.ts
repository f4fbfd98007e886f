import { checkedMeasure } from './measures.js'
import type { Config } from './options.js'
import type { Ring } from './ring.js'

// history.fits(): would pushing these messages keep every budget without trimming? The token
// budget in a calibrated config is already in estimated tokens (calibratedConfig), so the check
// compares estimates, as a push does.

/**
 * Whether the ring plus `messages` stays within every budget of `cfg` (count, bytes, tokens).
 *
 * @throws {@link InvalidMeasurementError} when a measure returns an invalid number
 */
export function fitsBudgets<T>(ring: Ring<T>, cfg: Config<T>, messages: readonly T[]): boolean {
  if (ring.len + messages.length > cfg.max) return false
  let bytes = ring.bytes
  let tokens = ring.tokens
  for (const message of messages) {
    bytes += checkedMeasure(cfg.sizeOf, message, 'sizeOf')
    tokens += checkedMeasure(cfg.countTokens, message, 'countTokens')
  }
  return bytes <= cfg.maxBytes && tokens <= cfg.maxTokens
}
