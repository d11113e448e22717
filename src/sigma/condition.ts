/**
 * Sigma `condition` expressions: identifiers, `and`, `or`, `not`, parentheses,
 * `1 of <pattern>`, `all of <pattern>` (pattern: a name, a `prefix*` glob, or `them`).
 * Aggregations (`| count() …`) and `near` are old-style correlations this parser rejects.
 */
export type ConditionNode =
  | { type: 'ref'; name: string }
  | { type: 'and' | 'or'; items: ConditionNode[] }
  | { type: 'not'; item: ConditionNode }
  | { type: 'of'; quantifier: 'any' | 'all'; pattern: string };

export class ConditionError extends Error {}

const TOKEN = /\s*(\(|\)|[^\s()]+)/y;

export function parseCondition(text: string): ConditionNode {
  if (text.includes('|'))
    throw new ConditionError('aggregation expressions (`| count() …`) are not supported; write a Sigma correlation rule instead');
  const tokens: string[] = [];
  TOKEN.lastIndex = 0;
  for (let m = TOKEN.exec(text); m; m = TOKEN.exec(text)) tokens.push(m[1] ?? '');
  if (tokens.length === 0) throw new ConditionError('empty condition');
  if (tokens.some((t) => t.toLowerCase() === 'near'))
    throw new ConditionError("'near' is not supported; write a Sigma temporal correlation instead");
  let pos = 0;
  const peek = () => tokens[pos]?.toLowerCase();
  const next = () => tokens[pos++] ?? '';

  /** `operand (op operand)*` as one node: `or` binds loosest, then `and`. */
  const parseChain = (op: 'and' | 'or', operand: () => ConditionNode): ConditionNode => {
    const items = [operand()];
    while (peek() === op) {
      pos++;
      items.push(operand());
    }
    return items.length === 1 ? (items[0] as ConditionNode) : { type: op, items };
  };
  const parseOr = (): ConditionNode => parseChain('or', parseAnd);
  const parseAnd = (): ConditionNode => parseChain('and', parseNot);
  const parseNot = (): ConditionNode => {
    if (peek() === 'not') {
      pos++;
      return { type: 'not', item: parseNot() };
    }
    return parseAtom();
  };
  const parseAtom = (): ConditionNode => {
    const token = next();
    const lower = token.toLowerCase();
    if (token === '') throw new ConditionError('condition ends too early');
    if (token === '(') {
      const inner = parseOr();
      if (next() !== ')') throw new ConditionError('missing closing parenthesis');
      return inner;
    }
    if (lower === '1' || lower === 'all' || lower === 'any') {
      if (peek() !== 'of') throw new ConditionError(`expected 'of' after '${token}'`);
      pos++;
      const pattern = next();
      if (pattern === '' || pattern === '(' || pattern === ')')
        throw new ConditionError(`expected a selection name or pattern after '${token} of'`);
      return { type: 'of', quantifier: lower === 'all' ? 'all' : 'any', pattern };
    }
    if (['and', 'or', ')'].includes(lower)) throw new ConditionError(`unexpected '${token}'`);
    if (/^\d+$/.test(token)) throw new ConditionError(`'${token} of' is not supported (only '1 of' and 'all of')`);
    return { type: 'ref', name: token };
  };

  const tree = parseOr();
  if (pos < tokens.length) throw new ConditionError(`unexpected '${tokens[pos]}'`);
  return tree;
}

/** Selection names a pattern stands for: `them` is every name not starting with `_`. */
export function expandPattern(pattern: string, names: readonly string[]): string[] {
  if (pattern === 'them') return names.filter((n) => !n.startsWith('_'));
  if (pattern.includes('*')) {
    const re = new RegExp(
      `^${pattern
        .split('*')
        .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
        .join('.*')}$`,
    );
    return names.filter((n) => re.test(n));
  }
  return names.includes(pattern) ? [pattern] : [];
}
