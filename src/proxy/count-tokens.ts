/** qcc's local `POST /v1/messages/count_tokens`: floor(chars × 0.35) + 10, images 500 chars; 100 on any error. */

export function countTokens(body: Buffer | null): number {
  try {
    const data = JSON.parse(body?.toString('utf8') ?? '') as { system?: unknown; messages?: unknown }
    let chars = 0
    if (typeof data.system === 'string') chars += data.system.length
    else if (Array.isArray(data.system)) {
      for (const part of data.system) if (typeof (part as { text?: unknown })?.text === 'string') chars += (part as { text: string }).text.length
    }
    if (Array.isArray(data.messages)) {
      for (const m of data.messages) {
        const content = (m as { content?: unknown })?.content
        if (typeof content === 'string') chars += content.length
        else if (Array.isArray(content)) {
          for (const block of content) {
            const b = block as { type?: unknown; text?: unknown }
            if (b?.type === 'text' && typeof b.text === 'string') chars += b.text.length
            else if (b?.type === 'image') chars += 500
          }
        }
      }
    }
    return Math.floor(chars * 0.35) + 10
  } catch {
    return 100
  }
}
