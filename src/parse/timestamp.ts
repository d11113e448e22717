const MONTHS: Readonly<Record<string, string>> = {
  Jan: '01',
  Feb: '02',
  Mar: '03',
  Apr: '04',
  May: '05',
  Jun: '06',
  Jul: '07',
  Aug: '08',
  Sep: '09',
  Oct: '10',
  Nov: '11',
  Dec: '12',
};
const CLF_RE = /^(\d{2})\/([A-Z][a-z]{2})\/(\d{4}):(\d\d:\d\d:\d\d) ([+-]\d{2})(\d{2})$/;
const SPACED_RE = /^(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d)(?:[.,](\d+))?(Z|[+-]\d\d:?\d\d)?$/;

/**
 * Parses the timestamp shapes apps emit into epoch ms: ISO 8601, `2025-03-02 03:12:40,118`
 * (Python; no zone means UTC), Apache/nginx `02/Mar/2025:03:12:40 +0000`, epoch seconds or ms.
 * Returns undefined for anything else, and the caller falls back to the CloudWatch timestamp.
 */
export function parseTimestamp(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) {
    // Epoch seconds vs milliseconds: 1e11 ms is 1973, 1e11 s is year 5138.
    return value < 1e11 ? Math.round(value * 1000) : Math.round(value);
  }
  if (typeof value !== 'string' || value.length < 8 || value.length > 40) return undefined;
  const spaced = SPACED_RE.exec(value);
  if (spaced) {
    const frac = (spaced[3] ?? '0').slice(0, 3).padEnd(3, '0');
    const zone = spaced[4] ?? 'Z';
    const ms = Date.parse(`${spaced[1]}T${spaced[2]}.${frac}${zone}`);
    return Number.isNaN(ms) ? undefined : ms;
  }
  const clf = CLF_RE.exec(value);
  if (clf) {
    const month = MONTHS[clf[2] ?? ''];
    if (!month) return undefined;
    const ms = Date.parse(`${clf[3]}-${month}-${clf[1]}T${clf[4]}${clf[5]}:${clf[6]}`);
    return Number.isNaN(ms) ? undefined : ms;
  }
  if (/^\d{10}(\.\d+)?$|^\d{13}$/.test(value)) return parseTimestamp(Number(value));
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}
