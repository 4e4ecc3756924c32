import { z } from 'zod';

export type JsonSchemaObject = { type: 'object'; [key: string]: unknown };

/**
 * The JSON schema given to a model (a tool's input_schema, a structured-output schema), derived
 * from the zod schema that also validates the model's answer, so the two cannot drift apart.
 */
export function toModelJsonSchema(schema: z.ZodType): JsonSchemaObject {
  const { $schema: _ignored, ...json } = z.toJSONSchema(schema, { target: 'draft-7', io: 'input' }) as Record<
    string,
    unknown
  >;
  if (json.type !== 'object') throw new Error('a model-facing schema must describe an object');
  return json as JsonSchemaObject;
}
