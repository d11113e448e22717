import { z } from 'zod';

/** A rule or correlation id (`auth.brute_force_user`), or every id starting with a prefix (`aws.*`). */
export const RuleRef = z
  .string()
  .regex(/^[a-z0-9_][a-z0-9_.-]*(\*)?$/, "expected a rule id (auth.brute_force_user) or an id prefix ending in '*' (aws.*)");

/** Whether a reference to rules (`auth.brute_force_user`, or a prefix `aws.*`) names a rule id. */
export function refMatches(ref: string, id: string): boolean {
  return ref.endsWith('*') ? id.startsWith(ref.slice(0, -1)) : ref === id;
}
