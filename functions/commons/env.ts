import type { AlertContext } from '../../src/alerts/build';

/** Where alerts' links point: the function's Region and the stack's account (set by the stack). */
export function alertContext(): AlertContext {
  const account = process.env.SENTINEL_ACCOUNT_ID;
  return { region: requireEnv('AWS_REGION'), ...(account ? { account } : {}) };
}

/** Reads a required environment variable; a missing one fails the cold start loudly. */
export function requireEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`environment variable ${name} is not set`);
  return value;
}

/** A required environment variable holding a positive number (durations in ms, sizes). */
export function requireNumberEnv(name: string, { zeroAllowed = false } = {}): number {
  const text = requireEnv(name);
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0 || (value === 0 && !zeroAllowed))
    throw new Error(`environment variable ${name} must be a ${zeroAllowed ? 'non-negative' : 'positive'} number, got '${text}'`);
  return value;
}
