import type { Alert } from '../schema/alert';

/**
 * Runbooks as links a responder can open. Rules name their runbook as a path in the repository
 * the stack is deployed from (`docs/runbooks/auth.brute_force_user.md`) or as a URL; paged at
 * night, a path is a search, not a link. With a base (config `runbookBaseUrl`, e.g. the
 * repository's `https://github.com/acme/sentinel/blob/main/`), every published message names the
 * path's URL under it instead; a runbook that is already a URL is left as written.
 */
export function runbookLink(runbook: string, base: string | undefined): string {
  if (base === undefined || URL.canParse(runbook)) return runbook;
  return new URL(fromRoot(runbook), base).href;
}

/**
 * The file a runbook path names, from the repository's root (what `detect validate` checks exists),
 * without a section (`#host-keys`); undefined for a URL.
 */
export function runbookFile(runbook: string): string | undefined {
  if (URL.canParse(runbook)) return undefined;
  const path = fromRoot(runbook);
  const section = path.search(/[#?]/);
  return section === -1 ? path : path.slice(0, section);
}

/** A path from the repository's root, however it is written (`./docs/…`, `/docs/…`): under a base, never at its host's root. */
function fromRoot(runbook: string): string {
  return runbook.replace(/^(?:\.\/|\/)+/, '');
}

/** The alert with its runbook as a link under `base` (the same alert when there is nothing to change). */
export function withRunbookLink(alert: Alert, base: string | undefined): Alert {
  const runbook = runbookLink(alert.runbook, base);
  return runbook === alert.runbook ? alert : { ...alert, runbook };
}

/**
 * A runbook base as the stack takes it: an https URL, ending in `/` so that a path goes under its
 * last segment (`…/blob/main` + `docs/x.md` would otherwise replace `main`); or why the text is not one.
 */
export function runbookBase(text: string): { base: string } | { error: string } {
  if (!URL.canParse(text)) return { error: `expected an https URL, got '${text}'` };
  const url = new URL(text);
  if (url.protocol !== 'https:') return { error: `expected an https URL (responders open it from an email or a chat), got '${text}'` };
  if (url.search !== '' || url.hash !== '')
    return { error: `expected a URL without a query or fragment (paths go under it), got '${text}'` };
  if (!url.pathname.endsWith('/')) url.pathname = `${url.pathname}/`;
  return { base: url.href };
}
