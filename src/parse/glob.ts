/** Log-group globs: `*` matches any run of characters (slashes included), `?` one character. */
export function globToRegExp(glob: string): RegExp {
  const escaped = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`);
}

export function matchesAnyGlob(name: string, globs: readonly RegExp[]): boolean {
  return globs.some((g) => g.test(name));
}
