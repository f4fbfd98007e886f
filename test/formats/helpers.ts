// Shared pieces of the format tests: the measure a history would pass to shrink, and the codes
// of a check, to compare.
import type { FormatProblem, HistoryMeasure, MessageFormat } from 'bounded-session'

/** The history's measure of one message by the format's own measures. */
export const measureWith =
  <T>(format: MessageFormat<T>) =>
  (message: T): HistoryMeasure => ({ bytes: format.sizeOf(message), tokens: format.countTokens(message) })

/** `[index, code]` of every problem: what the check tests compare. */
export const codes = (problems: FormatProblem[]): [number, string][] => problems.map((p) => [p.index, p.code])

/** Shrinks `message` with the format to `tokens` and returns it. */
export const shrinkTo = <T>(format: MessageFormat<T>, message: T, tokens: number): T =>
  format.shrink(message, { bytes: Number.MAX_SAFE_INTEGER, tokens }, measureWith(format))

/** A PNG header of `width` × `height` pixels, base64: enough for the image rules to read its size. */
export function pngBase64(width: number, height: number): string {
  const b = new Uint8Array(33)
  b.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52])
  new DataView(b.buffer).setUint32(16, width)
  new DataView(b.buffer).setUint32(20, height)
  return btoa(String.fromCharCode(...b))
}
