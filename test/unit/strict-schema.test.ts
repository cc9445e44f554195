/**
 * OpenAI's strict mode accepts a subset of JSON Schema (activities/llm/strict-schema.ts): every
 * purpose's structured output must be sent strict and inside it, and the checker must find
 * what strict mode refuses.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { STRUCTURED_OUTPUTS } from '../../activities/llm/llm.js';
import { jsonSchemaFormat } from '../../activities/llm/openai-client.js';
import { STRICT_LIMITS, strictModeViolations, withoutUnsupportedBounds } from '../../activities/llm/strict-schema.js';

const sent = (schema: z.ZodType, name = 'test') => jsonSchemaFormat(schema, name).json_schema;
const problems = (schema: Record<string, unknown>) => strictModeViolations(schema).map((v) => `${v.path}: ${v.problem}`);
const object = (properties: Record<string, unknown>) => ({ type: 'object', properties, required: Object.keys(properties), additionalProperties: false });

describe('every purpose\'s structured output', () => {
  it('lists the structured purposes', () => {
    expect(STRUCTURED_OUTPUTS.map((o) => o.schemaName)).toEqual(
      expect.arrayContaining(['signals', 'title', 'inflection', 'evidence_scores', 'evidence_links', 'contradictions', 'brief']),
    );
  });

  for (const { schemaName, schema } of STRUCTURED_OUTPUTS) {
    it(`${schemaName} is sent strict, and strict mode would accept it`, () => {
      const format = sent(schema, schemaName);
      expect(problems(format.schema!)).toEqual([]);
      expect(format.strict).toBe(true);
    });
  }
});

describe('strictModeViolations', () => {
  it('accepts the documented keywords: enum, anyOf with null, numeric and array bounds, pattern, format, $defs', () => {
    const schema = {
      ...object({
        kind: { type: 'string', enum: ['a', 'b'], description: 'which' },
        score: { type: 'number', minimum: 0, maximum: 1, multipleOf: 0.5, exclusiveMinimum: -1, exclusiveMaximum: 2 },
        tags: { type: 'array', items: { type: 'string', pattern: '^[a-z]+$' }, minItems: 1, maxItems: 3 },
        at: { type: ['string', 'null'], format: 'date-time' },
        next: { anyOf: [{ $ref: '#/$defs/node' }, { type: 'null' }] },
      }),
      $defs: { node: object({ value: { type: 'integer' } }) },
    };
    expect(problems(schema)).toEqual([]);
  });

  it('refuses optional properties, open objects, a non-object root and unsupported keywords', () => {
    expect(problems(sent(z.object({ a: z.string(), b: z.string().optional() })).schema!)).toEqual([': required must list every property (missing: b)']);
    expect(problems({ type: 'object', properties: { a: { type: 'string' } }, required: ['a'] })).toEqual([': additionalProperties must be false']);
    expect(problems({ anyOf: [object({})] })).toContain(': the root must be an object, not anyOf');
    expect(problems(object({ a: { type: 'string', maxLength: 3 }, b: { allOf: [{ type: 'string' }] }, c: { type: 'string', format: 'uri' } }))).toEqual([
      "/properties/a: 'maxLength' is not supported",
      "/properties/b: 'allOf' is not supported",
      "/properties/c: format 'uri' is not supported",
    ]);
  });

  it('refuses more nesting, properties and enum values than the limits', () => {
    let deep: Record<string, unknown> = object({ leaf: { type: 'string' } });
    for (let i = 1; i < STRICT_LIMITS.nestingLevels; i++) deep = object({ child: deep });
    expect(problems(deep)).toEqual([]);
    expect(problems(object({ child: deep }))).toEqual([expect.stringContaining('nested 11 objects deep')]);

    const wide = object(Object.fromEntries(Array.from({ length: STRICT_LIMITS.objectProperties + 1 }, (_, i) => [`p${i}`, { type: 'string' }])));
    expect(problems(wide)).toEqual([expect.stringContaining(`${STRICT_LIMITS.objectProperties + 1} object properties`)]);

    const manyValues = Array.from({ length: STRICT_LIMITS.enumValues + 1 }, (_, i) => `value-${i}-${'x'.repeat(20)}`);
    expect(problems(object({ e: { type: 'string', enum: manyValues } }))).toEqual([
      expect.stringContaining('an enum of 1001 values'),
      expect.stringContaining('1001 enum values'),
    ]);
  });
});

describe('withoutUnsupportedBounds', () => {
  it('drops length bounds everywhere, says them in the description, and keeps what strict mode supports', () => {
    const schema = sent(z.object({ items: z.array(z.object({ text: z.string().min(1).max(300).describe('a sentence'), n: z.number().max(3) })) })).schema!;
    expect(withoutUnsupportedBounds(schema)).toEqual(schema);
    const item = ((schema.properties as any).items.items as any).properties;
    expect(item.text).toEqual({ type: 'string', description: 'a sentence (1 to 300 characters)' });
    expect(item.n).toMatchObject({ type: 'number', maximum: 3 });
    expect((sent(z.object({ t: z.string().min(1) })).schema!.properties as any).t).toEqual({ type: 'string', description: 'not empty' });
  });
});
