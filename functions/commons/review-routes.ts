import { REVIEW_ROUTES_FILE, type ReviewRoute, ReviewRoutes } from '../../src/engine/review-routes';
import { loadBundledFile } from './bundled-file';

/** The routes that take the review tier; none when the file is absent (a bundle from before routes could). */
export function loadReviewRoutes(dir?: string): ReviewRoute[] {
  return loadBundledFile(REVIEW_ROUTES_FILE, ReviewRoutes, [], dir);
}
