import { AUDIO_TOKENS_PER_SECOND, PAGE_TOKENS, audioSeconds, base64Bytes, base64Head, documentPages, imageSize, openaiImageTokens } from './media.js'
import { isObject } from './walk.js'

/** Image, audio and file parts of OpenAI (Chat Completions and Responses), by OpenAI's rules. */
export function openaiMedia(node: object): number | undefined {
  const type = (node as { type?: unknown }).type
  if (type === 'image_url' || type === 'input_image') {
    const image = (node as { image_url?: unknown }).image_url
    const url = typeof image === 'string' ? image : isObject(image) ? image.url : undefined
    const detail = isObject(image) ? image.detail : (node as { detail?: unknown }).detail
    const head = typeof url === 'string' && url.startsWith('data:') ? base64Head(url) : undefined
    return openaiImageTokens(head === undefined ? undefined : imageSize(head), detail)
  }
  if (type === 'input_audio') {
    const audio = (node as { input_audio?: unknown }).input_audio
    const data = isObject(audio) ? audio.data : undefined
    if (typeof data !== 'string') return AUDIO_TOKENS_PER_SECOND.openai * 60
    return Math.ceil(AUDIO_TOKENS_PER_SECOND.openai * audioSeconds(base64Head(data.slice(0, 64)), base64Bytes(data)))
  }
  if (type === 'file' || type === 'input_file') {
    const file = (node as { file?: unknown }).file
    const data = isObject(file) ? file.file_data : (node as { file_data?: unknown }).file_data
    return PAGE_TOKENS.openai * documentPages(typeof data === 'string' ? base64Bytes(data) : 0)
  }
  return undefined
}
