import { TEAM_PAGERS_FILE, type TeamPager, TeamPagers } from '../../src/alerts/team-pagers';
import { loadBundledFile } from './bundled-file';

/** The teams' PagerDuty services the forwarder leaves their pages to; none when its bundle holds no such file (`leaveTeamPages` off). */
export function loadTeamPagers(dir?: string): TeamPager[] {
  return loadBundledFile(TEAM_PAGERS_FILE, TeamPagers, [], dir);
}
