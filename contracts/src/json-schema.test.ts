import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { toModelJsonSchema } from './json-schema.ts';
import { RouterPlan } from './router-plan.ts';

describe('toModelJsonSchema', () => {
  it('derives the RouterPlan tool schema from zod, enums and limits included', () => {
    const schema = toModelJsonSchema(RouterPlan);
    expect(schema).toMatchObject({
      type: 'object',
      required: ['template_id', 'complexity', 'required_skills', 'context_summary'],
      properties: {
        template_id: { enum: ['java-backend', 'python-backend', 'react-frontend', 'general-research'] },
        complexity: { enum: ['low', 'medium', 'high'] },
        required_skills: { type: 'array', maxItems: 12 },
      },
    });
    expect(schema).not.toHaveProperty('$schema');
  });

  it('refuses a schema that is not an object, which no tool or response format accepts', () => {
    expect(() => toModelJsonSchema(z.string())).toThrow(/object/);
  });
});
