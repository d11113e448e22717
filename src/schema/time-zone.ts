import { z } from 'zod';
import { isKnownTimezone } from '../parse/timestamp';

/** What a time zone name must be, wherever one is given (a source's, a rule test's, the deployment's). */
export const TIME_ZONE_EXPECTED = 'expected an IANA time zone name like America/New_York or UTC';

/** An IANA time zone name the runtime knows (`Europe/Berlin`, `UTC`). */
export const TimeZoneName = z.string().refine(isKnownTimezone, { message: TIME_ZONE_EXPECTED });
