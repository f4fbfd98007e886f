// Token estimates for images, audio and files, by each provider's published rule where the data
// says enough (an image's width and height are read from the first bytes of its PNG, GIF, WebP
// or JPEG data), and by documented bounds where it does not (a URL, a file id).

/** Width and height of an image in pixels. */
export interface ImageSize {
  width: number
  height: number
}

// Enough of the file for every header we read; a JPEG's frame header can sit after an EXIF block.
const SNIFF_BYTES = 65_536

/** The first bytes of base64 text (a `data:` URL's prefix is skipped), or `undefined` if it does not decode. */
export function base64Head(data: string): Uint8Array | undefined {
  let start = 0
  if (data.startsWith('data:')) {
    start = data.indexOf(',') + 1
    if (start === 0) return undefined
  }
  const chars = Math.min(data.length - start, (SNIFF_BYTES / 3) * 4) & ~3
  try {
    const binary = atob(data.slice(start, start + chars))
    const bytes = new Uint8Array(binary.length)
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
    return bytes
  } catch {
    return undefined
  }
}

/** The size of a decoded base64 payload, in bytes (`data:` prefix skipped). */
export function base64Bytes(data: string): number {
  const start = data.startsWith('data:') ? data.indexOf(',') + 1 : 0
  return Math.floor(((data.length - start) * 3) / 4)
}

const u16be = (b: Uint8Array, i: number): number => ((b[i] ?? 0) << 8) | (b[i + 1] ?? 0)
const u16le = (b: Uint8Array, i: number): number => (b[i] ?? 0) | ((b[i + 1] ?? 0) << 8)
const u24le = (b: Uint8Array, i: number): number => u16le(b, i) | ((b[i + 2] ?? 0) << 16)
const u32be = (b: Uint8Array, i: number): number => u16be(b, i) * 65_536 + u16be(b, i + 2)

/** The pixel size of a PNG, GIF, WebP or JPEG image from its first bytes, or `undefined`. */
export function imageSize(b: Uint8Array): ImageSize | undefined {
  if (b.length >= 24 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) {
    return sized(u32be(b, 16), u32be(b, 20))
  }
  if (b.length >= 10 && b[0] === 0x47 && b[1] === 0x49 && b[2] === 0x46) return sized(u16le(b, 6), u16le(b, 8))
  if (b.length >= 30 && b[0] === 0x52 && b[1] === 0x49 && b[8] === 0x57 && b[9] === 0x45) {
    const chunk = String.fromCharCode(b[12] ?? 0, b[13] ?? 0, b[14] ?? 0, b[15] ?? 0)
    if (chunk === 'VP8 ') return sized(u16le(b, 26) & 0x3fff, u16le(b, 28) & 0x3fff)
    if (chunk === 'VP8L') {
      const bits = (b[21] ?? 0) | ((b[22] ?? 0) << 8) | ((b[23] ?? 0) << 16) | ((b[24] ?? 0) << 24)
      return sized((bits & 0x3fff) + 1, ((bits >>> 14) & 0x3fff) + 1)
    }
    if (chunk === 'VP8X') return sized(u24le(b, 24) + 1, u24le(b, 27) + 1)
    return undefined
  }
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0xd8) {
    let i = 2
    while (i + 9 < b.length) {
      if (b[i] !== 0xff) return undefined
      const marker = b[i + 1] ?? 0
      // SOF0..SOF15 carry the frame size, except DHT (C4), JPG (C8) and DAC (CC).
      if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
        return sized(u16be(b, i + 7), u16be(b, i + 5))
      }
      i += 2 + u16be(b, i + 2)
    }
  }
  return undefined
}

const sized = (width: number, height: number): ImageSize | undefined => (width > 0 && height > 0 ? { width, height } : undefined)

/**
 * Anthropic: about `width × height / 750` tokens after the image is scaled to fit 1568 px on its
 * long edge and about 1.15 megapixels; 1,600 tokens when the size is unknown (the cap).
 */
export function anthropicImageTokens(size: ImageSize | undefined): number {
  if (size === undefined) return ANTHROPIC_IMAGE_MAX
  let { width, height } = size
  const edge = Math.max(width, height)
  if (edge > 1568) {
    width = (width * 1568) / edge
    height = (height * 1568) / edge
  }
  const pixels = width * height
  const scale = pixels > 1_150_000 ? 1_150_000 / pixels : 1
  return Math.min(ANTHROPIC_IMAGE_MAX, Math.ceil((pixels * scale) / 750))
}
const ANTHROPIC_IMAGE_MAX = 1_600

/**
 * OpenAI (GPT-4o family): low detail 85 tokens; high or auto detail 85 + 170 per 512-px tile
 * after the image is scaled to fit 2048 × 2048 and then to 768 px on its short side; 1,445
 * (the most that rule gives, 8 tiles) when the size is unknown.
 */
export function openaiImageTokens(size: ImageSize | undefined, detail: unknown): number {
  if (detail === 'low') return 85
  if (size === undefined) return 85 + 170 * 8
  let { width, height } = size
  const fit = Math.min(1, 2048 / Math.max(width, height))
  width *= fit
  height *= fit
  const short = Math.min(width, height)
  if (short > 768) {
    width = (width * 768) / short
    height = (height * 768) / short
  }
  return 85 + 170 * Math.ceil(width / 512) * Math.ceil(height / 512)
}

/**
 * Gemini: 258 tokens for an image of at most 384 px on both sides, else 258 per 768-px tile;
 * 1,120 (Gemini 3's default high media resolution) when the size is unknown.
 */
export function geminiImageTokens(size: ImageSize | undefined): number {
  if (size === undefined) return 1_120
  if (size.width <= 384 && size.height <= 384) return 258
  return 258 * Math.ceil(size.width / 768) * Math.ceil(size.height / 768)
}

/**
 * Seconds of audio in `bytes` of data: a WAV file's own byte rate when its header is there, else
 * 16,000 bytes a second (128 kbit/s, a common MP3 rate).
 */
export function audioSeconds(head: Uint8Array | undefined, bytes: number): number {
  if (head !== undefined && head.length >= 32 && head[0] === 0x52 && head[8] === 0x57 && head[9] === 0x41) {
    const rate = u16le(head, 28) + u16le(head, 30) * 65_536
    if (rate > 0) return bytes / rate
  }
  return bytes / 16_000
}

/** Audio tokens per second: OpenAI about 10, Gemini 32. */
export const AUDIO_TOKENS_PER_SECOND = { openai: 10, gemini: 32 } as const

/**
 * Pages in a PDF (or other document) of `bytes`: one page per 50 kB, at least one. A document
 * known only by reference (a URL or a file id) counts as one page.
 */
export const documentPages = (bytes: number): number => Math.max(1, Math.ceil(bytes / 50_000))

/**
 * Tokens per document page: Anthropic 3,000 (the top of its 1,500–3,000 text range, with the page
 * image), OpenAI 1,500 (text plus page image), Gemini 258.
 */
export const PAGE_TOKENS = { anthropic: 3_000, openai: 1_500, gemini: 258 } as const
