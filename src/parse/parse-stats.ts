/** Per log group: events normalized, how many no parser understood, how many had no usable time. */
export interface GroupParseCounts {
  events: number;
  unparsed: number;
  timeFallback: number;
}

export interface UnparsedShape {
  shape: string;
  count: number;
  /** One real line of this shape (the first seen), cut to 300 characters. */
  example: string;
}

const MAX_SHAPES = 500;
const SHAPE_CHARS = 160;
const OTHER = '(other shapes)';

/**
 * A line's shape: digits masked and cut short, so `Dec 10 06:55:46 … port 52144` and
 * `Dec 10 07:01:02 … port 40022` count together.
 */
export function lineShape(line: string): string {
  return line
    .slice(0, SHAPE_CHARS * 2)
    .replace(/\d+/g, 'N')
    .replace(/ {2,}/g, ' ')
    .slice(0, SHAPE_CHARS);
}

/**
 * Parse accounting: every normalized event is parsed (a parser or field map understood it) or
 * unparsed (no pattern read its text: only the raw message is known, or a syslog header's time, host
 * and program — `logrotate: ALERT exited abnormally`). Blind spots stay visible: a run that understood
 * nothing says so, per log group, with the line shapes it could not read.
 */
export class ParseStats {
  readonly groups = new Map<string, GroupParseCounts>();
  private readonly shapes = new Map<string, UnparsedShape>();

  /** `lines`: how many lines this one stands for (a sample of the lines the line gate left: src/engine/line-gate.ts). */
  record(logGroup: string, message: string, parsed: boolean, timeFallback: boolean, lines = 1): void {
    let g = this.groups.get(logGroup);
    if (!g) {
      g = { events: 0, unparsed: 0, timeFallback: 0 };
      this.groups.set(logGroup, g);
    }
    g.events += lines;
    if (timeFallback) g.timeFallback += lines;
    if (parsed) return;
    g.unparsed += lines;
    let shape = lineShape(message);
    if (!this.shapes.has(shape) && this.shapes.size >= MAX_SHAPES) shape = OTHER;
    const known = this.shapes.get(shape);
    if (known) known.count += lines;
    else this.shapes.set(shape, { shape, count: lines, example: message.slice(0, 300) });
  }

  merge(other: ParseStats): void {
    for (const [group, c] of other.groups) {
      const g = this.groups.get(group) ?? { events: 0, unparsed: 0, timeFallback: 0 };
      g.events += c.events;
      g.unparsed += c.unparsed;
      g.timeFallback += c.timeFallback;
      this.groups.set(group, g);
    }
    for (const s of other.shapes.values()) {
      const shape = this.shapes.has(s.shape) || this.shapes.size < MAX_SHAPES ? s.shape : OTHER;
      const known = this.shapes.get(shape);
      if (known) known.count += s.count;
      else this.shapes.set(shape, { ...s, shape });
    }
  }

  get totals(): GroupParseCounts {
    const t = { events: 0, unparsed: 0, timeFallback: 0 };
    for (const g of this.groups.values()) {
      t.events += g.events;
      t.unparsed += g.unparsed;
      t.timeFallback += g.timeFallback;
    }
    return t;
  }

  /** The most frequent unparsed shapes, most frequent first. */
  topShapes(n: number): UnparsedShape[] {
    return [...this.shapes.values()].sort((a, b) => b.count - a.count || a.shape.localeCompare(b.shape)).slice(0, n);
  }

  toJSON() {
    return {
      ...this.totals,
      byLogGroup: Object.fromEntries(this.groups),
      topUnparsedShapes: this.topShapes(10).map(({ shape, count }) => ({ shape, count })),
    };
  }
}
