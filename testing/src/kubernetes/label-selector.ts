import { labelValue, qualifiedName } from './name-rules.ts';
import type { KubeObject } from './resources.ts';
import { badRequest, type StatusError } from './status.ts';

// Label and field selectors as the API server parses them (k8s.io/apimachinery/pkg/labels and
// pkg/fields): `a=b,c!=d,e in (x,y),f notin (z),g,!h`.

type Operator = '=' | '!=' | 'in' | 'notin' | 'exists' | '!exists' | 'gt' | 'lt';

export interface Requirement {
  key: string;
  operator: Operator;
  values: string[];
}

export type Labels = Record<string, string> | undefined;

const SPECIAL = new Set(['!', '=', ',', '(', ')', '<', '>']);

function tokenize(input: string): string[] {
  const tokens: string[] = [];
  let i = 0;
  while (i < input.length) {
    const ch = input[i] ?? '';
    if (/\s/.test(ch)) {
      i += 1;
    } else if ((ch === '=' || ch === '!') && input[i + 1] === '=') {
      tokens.push(`${ch}=`);
      i += 2;
    } else if (SPECIAL.has(ch)) {
      tokens.push(ch);
      i += 1;
    } else {
      let j = i;
      while (j < input.length && !SPECIAL.has(input[j] ?? '') && !/\s/.test(input[j] ?? '')) j += 1;
      tokens.push(input.slice(i, j));
      i = j;
    }
  }
  return tokens;
}

const isIdentifier = (token: string | undefined): token is string =>
  token !== undefined && !SPECIAL.has(token) && token !== '==' && token !== '!=';

function parseError(detail: string): StatusError {
  return badRequest(`unable to parse requirement: ${detail}`);
}

function checkRequirement(req: Requirement): Requirement {
  const keyErrors = qualifiedName(req.key);
  if (keyErrors.length > 0) throw parseError(`key: Invalid value: ${JSON.stringify(req.key)}: ${keyErrors.join('; ')}`);
  if ((req.operator === 'in' || req.operator === 'notin') && req.values.length === 0) {
    throw parseError(`values: Invalid value: []: for 'in', 'notin' operators, values set can't be empty`);
  }
  req.values.forEach((value, i) => {
    if (req.operator === 'gt' || req.operator === 'lt') {
      if (!/^-?\d+$/.test(value))
        throw parseError(
          `values[${i}]: Invalid value: ${JSON.stringify(value)}: for 'Gt', 'Lt' operators, the value must be an integer`,
        );
      return;
    }
    const valueErrors = labelValue(value);
    if (valueErrors.length > 0) {
      throw parseError(`values[${i}][${req.key}]: Invalid value: ${JSON.stringify(value)}: ${valueErrors.join('; ')}`);
    }
  });
  return req;
}

/** Parses a `labelSelector` query parameter; a malformed one is a 400 BadRequest, as on a real server. */
export function parseLabelSelector(input: string): Requirement[] {
  const tokens = tokenize(input);
  const requirements: Requirement[] = [];
  let i = 0;
  const expectEnd = () => {
    const next = tokens[i];
    if (next !== undefined && next !== ',') throw badRequest(`found '${next}', expected: ',' or 'end of string'`);
    i += 1;
  };
  while (i < tokens.length) {
    if (tokens[i] === '!') {
      const key = tokens[i + 1];
      if (!isIdentifier(key)) throw badRequest(`found '${key ?? ''}', expected: identifier after '!'`);
      requirements.push(checkRequirement({ key, operator: '!exists', values: [] }));
      i += 2;
      expectEnd();
      continue;
    }
    const key = tokens[i];
    if (!isIdentifier(key)) throw badRequest(`found '${key ?? ''}', expected: !, identifier, or 'end of string'`);
    const op = tokens[i + 1];
    i += 2;
    if (op === undefined || op === ',') {
      requirements.push(checkRequirement({ key, operator: 'exists', values: [] }));
      continue;
    }
    if (op === '=' || op === '==' || op === '!=' || op === '<' || op === '>') {
      const value = isIdentifier(tokens[i]) ? (tokens[i] as string) : '';
      if (value !== '') i += 1;
      const operator = op === '!=' ? '!=' : op === '<' ? 'lt' : op === '>' ? 'gt' : '=';
      requirements.push(checkRequirement({ key, operator, values: [value] }));
    } else if (op === 'in' || op === 'notin') {
      if (tokens[i] !== '(') throw badRequest(`found '${tokens[i] ?? ''}', expected: '('`);
      i += 1;
      const values: string[] = [];
      while (tokens[i] !== ')') {
        const value = tokens[i];
        if (value === undefined) throw badRequest(`found 'end of string', expected: ')'`);
        if (value !== ',') values.push(value);
        i += 1;
      }
      i += 1;
      requirements.push(checkRequirement({ key, operator: op, values }));
    } else {
      throw badRequest(`found '${op}', expected: '=', '!=', '==', 'in', notin'`);
    }
    expectEnd();
  }
  return requirements;
}

export function matchesRequirements(requirements: Requirement[], labels: Labels): boolean {
  const set = labels ?? {};
  return requirements.every(({ key, operator, values }) => {
    const has = Object.hasOwn(set, key);
    const value = set[key];
    switch (operator) {
      case 'exists':
        return has;
      case '!exists':
        return !has;
      case '=':
        return has && value === values[0];
      case '!=':
        return !has || value !== values[0];
      case 'in':
        return has && values.includes(value ?? '');
      case 'notin':
        return !has || !values.includes(value ?? '');
      case 'gt':
      case 'lt': {
        if (!has || !/^-?\d+$/.test(value ?? '')) return false;
        const n = Number(value);
        const bound = Number(values[0]);
        return operator === 'gt' ? n > bound : n < bound;
      }
    }
    return false;
  });
}

/** A `metav1.LabelSelector` object (`matchLabels`, `matchExpressions`), as Job selectors are. */
export function matchesSelectorObject(selector: Record<string, unknown>, labels: Labels): boolean {
  const requirements: Requirement[] = Object.entries((selector.matchLabels as Record<string, string>) ?? {}).map(
    ([key, value]) => ({ key, operator: '=', values: [value] }),
  );
  for (const expr of (selector.matchExpressions as { key: string; operator: string; values?: string[] }[]) ?? []) {
    const operator = ({ In: 'in', NotIn: 'notin', Exists: 'exists', DoesNotExist: '!exists' } as const)[
      expr.operator as 'In'
    ];
    if (!operator) return false;
    requirements.push({ key: expr.key, operator, values: expr.values ?? [] });
  }
  return matchesRequirements(requirements, labels);
}

export interface FieldRequirement {
  field: string;
  negate: boolean;
  value: string;
}

/** Splits on `sep` where it is not escaped with a backslash. */
function splitUnescaped(input: string, sep: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < input.length; i += 1) {
    const ch = input[i] ?? '';
    if (ch === '\\' && i + 1 < input.length) {
      current += ch + (input[i + 1] ?? '');
      i += 1;
    } else if (ch === sep) {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  parts.push(current);
  return parts;
}

const unescapeValue = (value: string): string => value.replace(/\\(.)/g, '$1');

/** Parses a `fieldSelector`: `metadata.name=x,status.phase!=Running`. */
export function parseFieldSelector(input: string, supported: (field: string) => boolean): FieldRequirement[] {
  return splitUnescaped(input, ',')
    .filter((part) => part.trim() !== '')
    .map((part) => {
      const match = /^(.*?)(!=|==|=)(.*)$/.exec(part);
      if (!match) throw badRequest(`invalid selector: '${input}'; can't understand '${part}'`);
      const field = (match[1] ?? '').trim();
      if (!supported(field)) throw badRequest(`field label not supported: ${field}`);
      return { field, negate: match[2] === '!=', value: unescapeValue(match[3] ?? '') };
    });
}

export function matchesFields(requirements: FieldRequirement[], fields: (field: string) => string): boolean {
  return requirements.every(({ field, negate, value }) => (fields(field) === value) !== negate);
}

/** The value of a selectable field of an object; metadata.name and metadata.namespace always are. */
export function fieldOf(obj: KubeObject, extra: Record<string, (o: KubeObject) => string>, field: string): string {
  if (field === 'metadata.name') return obj.metadata.name ?? '';
  if (field === 'metadata.namespace') return obj.metadata.namespace ?? '';
  return extra[field]?.(obj) ?? '';
}
