import { z } from 'zod';

/** A list's name, as a rule's `'%name%'` placeholder writes it. */
export const ListName = z
  .string()
  .regex(/^[a-z][a-z0-9_]{0,63}$/, 'expected a list name like internal_networks (lower case letters, digits and _)');

const ListValue = z.union([z.string().min(1), z.number()]);

/** The name a `'%name%'` placeholder writes (`''` for `'%%'`), undefined for any other value. */
export function placeholderOf(value: unknown): string | undefined {
  return typeof value === 'string' ? /^%([^%]*)%$/.exec(value)?.[1] : undefined;
}

/**
 * The list a placeholder names: itself where it is a list name, else as Sigma rules write them
 * (`%Admins_Workstations%`, `%DomainControllers%`) lower-cased, other characters as `_`.
 */
export function placeholderListName(placeholder: string): string {
  const name = placeholder
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '_')
    .slice(0, 64);
  return /^[a-z]/.test(name) ? name : `sigma_${name}`.slice(0, 64);
}

/**
 * A named list (a `list:` file in a rule folder): values rules take by name with Sigma's
 * `expand` modifier (`source.ip|cidr|expand: '%internal_networks%'`), so a deployment states its
 * networks once and every rule that reads them follows.
 */
export const ValueListDefinition = z.strictObject({
  list: ListName,
  /** What the values are and which rules read them: what a reviewer of a change reads. */
  description: z.string().min(1),
  /** May be empty: a list a deployment fills (its own scanners); a condition over no values holds for no event. */
  values: z.array(ListValue),
});
export type ValueListDefinition = z.infer<typeof ValueListDefinition>;

/**
 * A change to a list defined in another file (a later rule folder's, as a tuning changes a
 * shipped rule): values added, values removed, and why.
 */
export const ValueListChange = z
  .strictObject({
    list: ListName,
    /** Why: the network, office or VPN the change is for. */
    reason: z.string().min(1),
    add: z.array(ListValue).min(1).optional(),
    remove: z.array(ListValue).min(1).optional(),
  })
  .refine((change) => change.add !== undefined || change.remove !== undefined, {
    message: 'a change to a list adds or removes values (add:, remove:); a file with values: defines a list',
  });
export type ValueListChange = z.infer<typeof ValueListChange>;
