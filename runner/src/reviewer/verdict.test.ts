import { describe, expect, it } from 'vitest';
import { parseVerdict, ReviewVerdict, strictJsonSchema } from './verdict.ts';

describe('parseVerdict', () => {
  it('reads the structured answer', () => {
    expect(parseVerdict('{"approved":false,"reason":"No test.","problems":["add a test"]}')).toEqual({
      approved: false,
      reason: 'No test.',
      problems: ['add a test'],
    });
    expect(parseVerdict('```json\n{"approved":true,"reason":"Good.","problems":[]}\n```')?.approved).toBe(true);
  });

  it("understands the original's text protocol", () => {
    expect(parseVerdict('APPROVED')).toEqual({ approved: true, reason: 'Approved.', problems: [] });
    expect(parseVerdict('approved - looks right')).toEqual({ approved: true, reason: 'looks right', problems: [] });
    expect(parseVerdict('REJECTED: the fix changes rounding\nand drops a test')).toEqual({
      approved: false,
      reason: 'the fix changes rounding\nand drops a test',
      problems: [],
    });
  });

  it('gives up on anything else', () => {
    expect(parseVerdict('I think it is mostly fine')).toBeUndefined();
    expect(parseVerdict('{"approved":"yes"}')).toBeUndefined();
    expect(parseVerdict('')).toBeUndefined();
  });
});

describe('strictJsonSchema', () => {
  it('requires every property and forbids others, as strict structured output demands', () => {
    expect(strictJsonSchema(ReviewVerdict)).toMatchObject({
      type: 'object',
      required: ['approved', 'reason', 'problems'],
      additionalProperties: false,
      properties: { problems: { type: 'array', items: { type: 'string' } } },
    });
  });
});
