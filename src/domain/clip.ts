/** The marker that ends every text the service shortened. */
export const CLIP_MARKER = '… [cut:';

/**
 * `text` cut to at most `max` characters, followed by a marker that says how much was cut. Pure; the
 * one way the service shortens output, errors and code for history, prompts and snapshots.
 */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max)}\n${CLIP_MARKER} ${text.length - max} more characters]`;
}
