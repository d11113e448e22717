/**
 * `text.toLowerCase()`, without the copy when there is nothing to lower: most field values
 * (`success`, `aws.vpcflow`, an address) are lower-case ASCII already, and `toLowerCase` copies
 * them anyway — a new string per event and condition, which then has to be hashed again for a
 * map lookup. Any non-ASCII character takes the full `toLowerCase` (the Kelvin sign lower-cases
 * to k; Greek capital sigma by context).
 */
export function lowerCase(text: string): string {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c >= 65 && c <= 90) || c >= 128) return text.toLowerCase();
  }
  return text;
}
