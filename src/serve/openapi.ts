/**
 * The OpenAPI 3.1 description of the service (`GET /openapi.json`): the routes, the request body (the very
 * schema the server validates with, ./schema.ts), the entity shapes, and the error body every failure has.
 */
import { REQUEST_SCHEMA } from './schema.js';

const ERROR_BODY = {
  type: 'object',
  required: ['error', 'error_type'],
  properties: {
    error: { type: 'string', description: 'what went wrong (never echoes the request text)' },
    error_type: {
      type: 'string',
      enum: [
        'validation',
        'auth',
        'not_found',
        'method',
        'too_large',
        'timeout',
        'overloaded',
        'unavailable',
        'gpu',
        'internal',
      ],
    },
    field: { type: 'string', description: 'the request field at fault, e.g. parameters.stride' },
  },
};

const ENTITY = {
  type: 'object',
  required: ['score', 'word', 'start', 'end'],
  properties: {
    entity_group: { type: 'string', description: 'the label without B-/I- (strategies simple, first, average, max)' },
    entity: { type: 'string', description: 'the label (strategies none and word)' },
    index: { type: 'integer', description: "the token's index in the encoding (strategy none)" },
    score: { type: 'number' },
    word: { type: 'string' },
    start: { type: 'integer', description: 'offset in Unicode code points, as Python counts' },
    end: { type: 'integer' },
  },
};

const errorResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
});

/** The description, with the running model's name and the server's version. */
export function openApiDocument(version: string, model: string): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'wgbert token classification',
      version,
      description:
        `Hugging Face Inference API for token classification, served by wgbert (model ${model}). ` +
        'Point the client at the server: endpointUrl = the base URL.',
    },
    components: {
      schemas: { Request: REQUEST_SCHEMA, Entity: ENTITY, Error: ERROR_BODY },
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
    },
    security: [{ bearer: [] }],
    paths: {
      '/': {
        post: {
          summary: 'Entities of a text, or of each text of a list',
          requestBody: {
            required: true,
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Request' } } },
          },
          responses: {
            200: {
              description: 'a list of entities for a text; a list of such lists for a list of texts',
              content: {
                'application/json': {
                  schema: {
                    oneOf: [
                      { type: 'array', items: { $ref: '#/components/schemas/Entity' } },
                      { type: 'array', items: { type: 'array', items: { $ref: '#/components/schemas/Entity' } } },
                    ],
                  },
                },
              },
            },
            400: errorResponse('the body is not JSON, or does not fit the schema (`field` names the field)'),
            401: errorResponse('a bearer token is required'),
            408: errorResponse('the body did not arrive in time'),
            413: errorResponse('the body is larger than the limit'),
            503: errorResponse('full, loading, shutting down, or the GPU failed: retry after Retry-After seconds'),
          },
        },
      },
      '/health': {
        get: {
          summary: 'Ready: 200 once the model is loaded; 503 while loading or shutting down',
          security: [],
          responses: { 200: { description: 'ready' }, 503: { description: 'not ready' } },
        },
      },
      '/info': {
        get: { summary: 'Model, labels, backend, limits and version', responses: { 200: { description: 'ok' } } },
      },
      '/metrics': {
        get: {
          summary: 'Prometheus text: requests, queue, batches, latency, tokens/s',
          responses: { 200: { description: 'ok' } },
        },
      },
      '/openapi.json': { get: { summary: 'This description', responses: { 200: { description: 'ok' } } } },
    },
  };
}
