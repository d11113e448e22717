import { type Document, isMap, isPair, isScalar, isSeq, type Node, visit } from 'yaml';
import type { RuleFileError } from './rule-pack';

/** Modifiers that compare text: a number there is matched as its decimal digits. */
const TEXT_MODIFIERS = /\|(?:contains|startswith|endswith|wildcard|re)\b/;

/**
 * Unquoted values YAML reads as numbers although they were written another way: `0xa9fea9fe` is
 * 2852039166, `0o17` is 15, `1e3` is 1000, `.inf` is Infinity, `007` is 7. Under a text modifier
 * (`url.original|contains: [0xa9fea9fe]`) the rule then matches the decimal digits, not the text
 * written — an error; elsewhere (a count, a port) the number may be meant — a warning.
 */
export function numberSpellings(doc: Document, file: string): { errors: RuleFileError[]; warnings: RuleFileError[] } {
  const errors: RuleFileError[] = [];
  const warnings: RuleFileError[] = [];
  const id = doc.get('id');
  const ruleId = typeof id === 'string' ? id : undefined;
  visit(doc, {
    Scalar(key, node, path) {
      if (typeof node.value !== 'number' || node.type !== 'PLAIN' || key === 'key') return;
      // Written as the number reads back (`42`, `0.5`): nothing was lost. `007`, `1.50` and a
      // twenty-digit id (past a double's precision) are not, under a text modifier.
      const written = node.source ?? '';
      if (written === String(node.value)) return;
      const at = yamlPath(node, path);
      const underText = TEXT_MODIFIERS.test(at);
      const message = `YAML reads the unquoted ${written} as the number ${String(node.value)}; quote it ('${written}') ${underText ? 'to match the text as written' : 'if the text was meant'}`;
      (underText ? errors : warnings).push({ file, ruleId, path: at, message });
    },
  });
  return { errors, warnings };
}

/** `match.any[0].url.original|contains[2]`: the keys and list positions from the document down to the node. */
function yamlPath(node: Node, path: readonly unknown[]): string {
  let out = '';
  const chain = [...path.slice(1), node];
  for (let i = 0; i < chain.length - 1; i++) {
    const parent = chain[i];
    const child = chain[i + 1];
    if (isPair(parent)) continue;
    if (isMap(parent) && isPair(child)) {
      const name = isScalar(child.key) ? String(child.key.value) : '?';
      out += out === '' ? name : `.${name}`;
    } else if (isSeq(parent)) {
      out += `[${parent.items.indexOf(child)}]`;
    }
  }
  return out;
}
