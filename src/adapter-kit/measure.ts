// The measures the adapters use for their frameworks' messages: every string a message carries
// counts (text, tool inputs and results, ids, unknown fields of unknown items), so an item the
// adapter does not recognise is still weighed, never read as empty. Media count as the providers
// bill them, not by the length of their base64.

/** Tokens charged for one image or file part: a 1024 x 1024 image at high detail (85 + 4 x 170). */
export const MEDIA_TOKENS = 765

const OBJECT_BYTES = 64
const STRING_HEADER_BYTES = 16
const MAX_DEPTH = 64
// A string this long under one of these keys is media data (base64 or a data URL), not text.
const MEDIA_KEYS = new Set(['image', 'image_url', 'imageUrl', 'data', 'file_data', 'fileData', 'url', 'audio'])
const MEDIA_MIN_CHARS = 1024

interface Tally {
  chars: number
  bytes: number
  media: number
}

function walk(value: unknown, key: string, tally: Tally, seen: Set<object>, depth: number): void {
  if (typeof value === 'string') {
    tally.bytes += STRING_HEADER_BYTES + 2 * value.length
    if (value.length >= MEDIA_MIN_CHARS && MEDIA_KEYS.has(key)) tally.media++
    else tally.chars += value.length
    return
  }
  if (typeof value === 'number' || typeof value === 'boolean') {
    tally.chars += 4
    tally.bytes += 8
    return
  }
  if (typeof value !== 'object' || value === null) return
  if (ArrayBuffer.isView(value)) {
    tally.bytes += value.byteLength
    tally.media++
    return
  }
  // A cycle or a very deep value is counted once, as an object: a measure never recurses forever.
  if (seen.has(value) || depth > MAX_DEPTH) {
    tally.bytes += OBJECT_BYTES
    return
  }
  seen.add(value)
  tally.bytes += OBJECT_BYTES
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) walk(value[i], key, tally, seen, depth + 1)
  } else {
    for (const k in value) {
      if (!Object.hasOwn(value, k)) continue
      // Key names are part of what a provider receives as JSON (tool inputs, unknown items).
      tally.chars += k.length
      walk((value as Record<string, unknown>)[k], k, tally, seen, depth + 1)
    }
  }
  seen.delete(value)
}

function tallyOf(message: unknown): Tally {
  const tally: Tally = { chars: 0, bytes: 0, media: 0 }
  walk(message, '', tally, new Set(), 0)
  return tally
}

/** Tokens of any message: one per 4 characters of every string and key it carries, plus {@link MEDIA_TOKENS} per media part. */
export function countAllTokens(message: unknown): number {
  const t = tallyOf(message)
  return Math.ceil(t.chars / 4) + t.media * MEDIA_TOKENS
}

/** Bytes of any message: 64 per object or array, 16 + 2 per character per string, the length of binary data. */
export function sizeOfAll(message: unknown): number {
  return tallyOf(message).bytes
}
