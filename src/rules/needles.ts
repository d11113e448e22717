import { groupedAlternation } from './alternation';
import { lowerCase } from './lower-case';

/**
 * Many substrings searched in one pass (Aho–Corasick): every `contains`/`startswith`/`endswith`
 * needle of every rule on one field becomes one automaton, so a value is scanned once per event
 * however many rules look into it. Linear in the text plus the matches; no regex, so no
 * backtracking on hostile lines.
 */
interface Node<T> {
  next: Map<number, Node<T>>;
  fail: Node<T> | undefined;
  out: T[];
}

/** Any character outside ASCII: where lower-casing may change length or map a letter to ASCII. */
export const NON_ASCII_RE = /[^\u0000-\u007f]/;

/**
 * The only characters outside ASCII whose lower case holds an ASCII character: İ (U+0130, lower
 * case i and a combining dot) and the Kelvin sign (U+212A, k). A test checks every code point.
 */
export const LOWERS_TO_ASCII_CLASS = '[\\u0130\\u212a]';

export class NeedleSet<T> {
  private readonly root: Node<T> = { next: new Map(), fail: undefined, out: [] };
  private built = false;
  private count = 0;
  private readonly literals: string[] = [];
  private asciiOnly = true;
  /** All needles as one literal alternation: V8 scans it far faster than the automaton walks, so most texts (no needle) stop here. */
  private any: RegExp | undefined;
  /**
   * The same alternation, case-insensitive, or any non-ASCII character: on ASCII text it answers
   * for the lower-cased text without lower-casing it, in one scan of the text.
   */
  private anyIgnoringCaseOrNonAscii: RegExp | undefined;

  add(needle: string, value: T): void {
    let node = this.root;
    for (let i = 0; i < needle.length; i++) {
      const c = needle.charCodeAt(i);
      let to = node.next.get(c);
      if (!to) {
        to = { next: new Map(), fail: undefined, out: [] };
        node.next.set(c, to);
      }
      node = to;
    }
    node.out.push(value);
    this.count++;
    this.literals.push(needle.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'));
    if (NON_ASCII_RE.test(needle)) this.asciiOnly = false;
    this.built = false;
  }

  private build(): void {
    const queue: Node<T>[] = [];
    for (const child of this.root.next.values()) {
      child.fail = this.root;
      queue.push(child);
    }
    for (let head = 0; head < queue.length; head++) {
      const node = queue[head];
      if (!node) break;
      for (const [c, child] of node.next) {
        queue.push(child);
        let f = node.fail;
        while (f && !f.next.has(c)) f = f.fail;
        child.fail = f?.next.get(c) ?? this.root;
        // Needles ending here include those of the longest proper suffix that is a needle.
        if (child.fail.out.length > 0) child.out = [...child.out, ...child.fail.out];
      }
    }
    // Grouped by first character (./alternation.ts): scanned for every value of the field.
    this.any = new RegExp(groupedAlternation(this.literals, false));
    // ASCII needles are found in the lower-cased text only where the case-insensitive alternation
    // finds them, unless the text holds a character that lower-cases to ASCII: only those send an
    // ASCII text of no needle to the automaton. Any other character outside ASCII lower-cases to
    // characters outside ASCII, and no such character matches an ASCII letter case-insensitively.
    // Scanning for every non-ASCII character cost the alternation more than half its speed (0.30
    // against 0.12 µs per line of this workload). A needle outside ASCII keeps the broad check.
    const outsideAscii = this.asciiOnly ? LOWERS_TO_ASCII_CLASS : NON_ASCII_RE.source;
    this.anyIgnoringCaseOrNonAscii = new RegExp(`${groupedAlternation(this.literals, true)}|${outsideAscii}`, 'i');
    this.built = true;
  }

  /**
   * `search` over the text lower-cased, lower-casing it only when a needle may be there. Needles
   * are lower-case: on ASCII text, the case-insensitive alternation matches exactly where the
   * lower-cased text holds a needle, so most texts (no needle) are neither copied nor walked.
   * Text holding a character that lower-cases to ASCII (the Kelvin sign to k), or any character
   * outside ASCII when a needle has one, is lower-cased and walked.
   */
  searchLowerCased(text: string, found: (value: T) => void): void {
    if (!this.built) this.build();
    if (this.anyIgnoringCaseOrNonAscii && !this.anyIgnoringCaseOrNonAscii.test(text)) return;
    this.search(lowerCase(text), found);
  }

  /** Calls `found` for every needle occurring in `text` (a value may be reported more than once). */
  search(text: string, found: (value: T) => void): void {
    if (!this.built) this.build();
    if (this.any && !this.any.test(text)) return;
    let node = this.root;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      let to = node.next.get(c);
      while (!to && node !== this.root) {
        node = node.fail ?? this.root;
        to = node.next.get(c);
      }
      node = to ?? this.root;
      for (const value of node.out) found(value);
    }
  }

  get needles(): number {
    return this.count;
  }
}
