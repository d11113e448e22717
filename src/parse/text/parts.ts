import type { FieldValue } from '../../schema/event';

/** Pattern parts and field sets the text parser families share. */

export const IP = String.raw`[0-9a-fA-F.:]{2,45}`;

export const PORT = String.raw`(?: port (?<source__port>\d{1,5}))?`;

export const fields = (category: string, action: string, outcome?: 'success' | 'failure'): Record<string, FieldValue> => ({
  'event.category': category,
  'event.action': action,
  ...(outcome ? { 'event.outcome': outcome } : {}),
});

export const authFailure = (action: string) => fields('authentication', action, 'failure');
