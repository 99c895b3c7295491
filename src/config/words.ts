import type { z } from 'zod';

/** What each kind of YAML value is called in an error, in the words of the configuration reference. */
const KINDS: Record<string, string> = {
  record: 'a map of names to settings (name: { … })',
  object: 'a map of settings (key: value)',
  array: 'a list ([a, b] or one "- item" per line)',
  string: 'text (quote it if it looks like a number)',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
};

/**
 * The validator's default wording ("must be record", "Too small: expected number to be >=1")
 * rewritten in the words of the configuration reference. Messages the schema states itself win
 * over these; this covers the rest.
 */
export function schemaWords(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return 'is required';
      return `must be ${KINDS[issue.expected] ?? issue.expected}`;
    case 'too_small':
      if (issue.origin === 'array') return `must hold at least ${String(issue.minimum)} item(s)`;
      if (issue.origin === 'string') return 'must not be empty';
      return `must be at least ${String(issue.minimum)}`;
    case 'too_big':
      if (issue.origin === 'array') return `must hold at most ${String(issue.maximum)} item(s)`;
      return `must be at most ${String(issue.maximum)}`;
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => String(v)).join(', ')}`;
    case 'invalid_format':
      return issue.format === 'url'
        ? 'must be a URL such as https://192.0.2.2'
        : `must be a valid ${issue.format}`;
    default:
      return undefined;
  }
}
