import type { FieldValue } from '../schema/event';

/**
 * One `<name>value</name>`, with the spaces before it; the value cannot hold `<`, so it ends where
 * the first `<` is. Sticky: each match starts where the last ended (anchored, so linear).
 */
export const XML_ELEMENT_RE = /\s{0,64}<([A-Za-z][\w.-]{0,63})>([^<]{0,8192})<\/\1>/y;
const MAX_ELEMENTS = 64;

/**
 * The flat elements of an XML record (`<ip>198.51.100.7</ip> <status>503</status> …`), each
 * written as a field of its name: API Gateway's XML access-log preset and templates of that
 * shape. Read in order from the start; reading stops at the first thing that is not such an
 * element (the closing tag, or a value holding `<`). API Gateway writes values unescaped, so a
 * client's user agent or path holding `<ip>…</ip>` ends the record there instead of writing an
 * element of its own; the first occurrence of a name wins. `-` (no value) and empty values are
 * left out, as in the other access-log formats.
 */
export function readXmlElements(text: string, out: Record<string, FieldValue>): void {
  XML_ELEMENT_RE.lastIndex = 0;
  for (let n = 0; n < MAX_ELEMENTS; n++) {
    const m = XML_ELEMENT_RE.exec(text);
    if (!m) return;
    const name = m[1] ?? '';
    const value = m[2] ?? '';
    if (value !== '' && value !== '-' && out[name] === undefined) out[name] = value;
  }
}
