import { z } from 'zod';

/** An AWS account id: 12 digits. */
export const ACCOUNT_ID = /^\d{12}$/;

export const AwsAccountId = z.string().regex(ACCOUNT_ID, 'expected a 12-digit AWS account id');
