/**
 * The request body of `POST /`, Hugging Face's Inference API for token classification, as a JSON Schema —
 * the same object the OpenAPI description publishes (./openapi.ts) — and the small validator that checks a
 * parsed body against it. A failure names the field ("parameters.stride must be an integer ≥ 0, got -1").
 *
 * The validator knows the subset of JSON Schema used here (type, enum, oneOf, items, properties, required,
 * additionalProperties: false, minimum) and walks only the fields the schema names, so a hostile body (a
 * value nested 100,000 deep, a huge array of numbers) costs one look at its top and never recurses into it.
 */
import { jsonSnippet } from '../errors.js';
import { AGGREGATION_STRATEGIES, type AggregationStrategy } from '../pipeline/entities.js';

/** A JSON Schema node, as far as this file uses them. */
export interface SchemaNode {
  type?: 'object' | 'array' | 'string' | 'integer' | 'boolean';
  description?: string;
  enum?: readonly string[];
  oneOf?: readonly SchemaNode[];
  items?: SchemaNode;
  properties?: Readonly<Record<string, SchemaNode>>;
  required?: readonly string[];
  additionalProperties?: false;
  minimum?: number;
  default?: unknown;
}

/** The strategy a request without `parameters.aggregation_strategy` gets: the Inference API's default. */
export const DEFAULT_STRATEGY: AggregationStrategy = 'simple';

export const REQUEST_SCHEMA: SchemaNode = {
  type: 'object',
  required: ['inputs'],
  additionalProperties: false,
  properties: {
    inputs: {
      description: 'a text, or a list of texts (the answer is then a list of lists)',
      oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }],
    },
    parameters: {
      type: 'object',
      additionalProperties: false,
      properties: {
        aggregation_strategy: {
          type: 'string',
          enum: AGGREGATION_STRATEGIES,
          default: DEFAULT_STRATEGY,
          description: "Hugging Face's strategies, plus wgbert's 'word' (one entry per word)",
        },
        ignore_labels: { type: 'array', items: { type: 'string' }, description: 'labels to drop; default ["O"]' },
        stride: {
          type: 'integer',
          minimum: 0,
          description: 'overlap in tokens between the windows of a text longer than the model accepts',
        },
      },
    },
    options: {
      type: 'object',
      additionalProperties: false,
      description: "the Inference API's old options; accepted and ignored (the model is always loaded)",
      properties: { wait_for_model: { type: 'boolean' }, use_cache: { type: 'boolean' } },
    },
  },
};

/** A request that passed the schema. */
export interface NerRequest {
  inputs: string | string[];
  parameters?: { aggregation_strategy?: AggregationStrategy; ignore_labels?: string[]; stride?: number };
}

/** Why a body does not fit: the field's path ("parameters.stride", "inputs[3]"; "" for the body itself). */
export interface SchemaViolation {
  field: string;
  message: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** What a node accepts, in words: "an integer ≥ 0", "one of none, simple, …", "a string or an array of strings". */
export function expectation(node: SchemaNode): string {
  if (node.oneOf) return node.oneOf.map(expectation).join(' or ');
  if (node.enum) return `one of ${node.enum.join(', ')}`;
  switch (node.type) {
    case 'array':
      return node.items ? `an array of ${expectation(node.items).replace(/^an? /, '')}s` : 'an array';
    case 'integer':
      return node.minimum === undefined ? 'an integer' : `an integer ≥ ${node.minimum}`;
    case 'object':
      return 'an object';
    case 'string':
      return 'a string';
    case 'boolean':
      return 'true or false';
    default:
      return 'a value';
  }
}

/** The first violation of `node` by `value` at `path`, or undefined when it fits. */
export function validate(node: SchemaNode, value: unknown, path = ''): SchemaViolation | undefined {
  const name = path === '' ? 'the body' : path;
  const wrong = (): SchemaViolation => ({
    field: path,
    message: `${name} must be ${expectation(node)}, got ${jsonSnippet(value)}`,
  });
  if (node.oneOf) {
    // The branch of the value's own type, when there is one, says what is wrong inside ("inputs[3] …").
    const mine = node.oneOf.find((n) => n.type === jsonType(value));
    if (mine) return validate(mine, value, path);
    return node.oneOf.some((n) => validate(n, value, path) === undefined) ? undefined : wrong();
  }
  switch (node.type) {
    case 'string':
      if (typeof value !== 'string') return wrong();
      break;
    case 'boolean':
      if (typeof value !== 'boolean') return wrong();
      break;
    case 'integer':
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) return wrong();
      if (node.minimum !== undefined && value < node.minimum) return wrong();
      break;
    case 'array': {
      if (!Array.isArray(value)) return wrong();
      if (node.items === undefined) break;
      for (let i = 0; i < value.length; i++) {
        const v = validate(node.items, value[i], `${path}[${i}]`);
        if (v) return v;
      }
      break;
    }
    case 'object': {
      if (!isObject(value)) return wrong();
      const props = node.properties ?? {};
      for (const key of node.required ?? []) {
        if (!Object.hasOwn(value, key)) return { field: join(path, key), message: `${join(path, key)} is missing` };
      }
      for (const key of Object.keys(value)) {
        const child = Object.hasOwn(props, key) ? props[key] : undefined;
        if (child === undefined) {
          if (node.additionalProperties === false) {
            const known = Object.keys(props).join(', ');
            const field = join(path, key);
            return { field, message: `${jsonSnippet(field)} is not a known field (${name} has ${known})` };
          }
          continue;
        }
        const v = validate(child, value[key], join(path, key));
        if (v) return v;
      }
      break;
    }
  }
  if (node.enum && !node.enum.includes(value as string)) return wrong();
  return undefined;
}

/** The schema type name of a JSON value ('integer' for whole numbers). */
function jsonType(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  if (value === null) return 'null';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

const join = (path: string, key: string) => (path === '' ? key : `${path}.${key}`);

/** A parsed body checked against REQUEST_SCHEMA: the request, or the first violation. */
export function parseRequest(body: unknown): NerRequest | SchemaViolation {
  const violation = validate(REQUEST_SCHEMA, body);
  if (violation) return violation;
  return body as NerRequest;
}
