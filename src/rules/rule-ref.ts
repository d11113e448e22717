/** Whether a reference to rules (`auth.brute_force_user`, or a prefix `aws.*`) names a rule id. */
export function refMatches(ref: string, id: string): boolean {
  return ref.endsWith('*') ? id.startsWith(ref.slice(0, -1)) : ref === id;
}
