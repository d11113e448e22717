import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REVIEW_ROUTES_FILE, type ReviewRoute, ReviewRoutes } from '../../src/engine/review-routes';
import { bundleDir } from './embedded-rules';

/** The routes that take the review tier; none when the file is absent (a bundle from before routes could). */
export function loadReviewRoutes(dir: string = bundleDir()): ReviewRoute[] {
  const file = join(dir, REVIEW_ROUTES_FILE);
  return existsSync(file) ? ReviewRoutes.parse(JSON.parse(readFileSync(file, 'utf8'))) : [];
}
