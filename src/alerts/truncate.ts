/**
 * At most `max` UTF-16 units, cut with an ellipsis; never between the two halves of a surrogate
 * pair (an emoji in a title), which PagerDuty and Security Hub would show as garbage.
 */
export function bounded(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max - 1;
  if (isHighSurrogate(text.charCodeAt(end - 1))) end -= 1;
  return `${text.slice(0, end)}…`;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}
