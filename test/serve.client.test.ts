/**
 * Hugging Face's own client, `@huggingface/inference`, against `serve()`: its endpointUrl is the server's
 * base URL. For every fixture text of the shipped demo-ner and every strategy, the client gets exactly the
 * library's entities for that text alone (deep-equal, scores included), with the calls of a strategy sent
 * concurrently so that they share forward passes. Also: lists of texts, ignore_labels, stride on a long
 * text, the bearer token, and the errors the client surfaces.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  InferenceClient,
  InferenceClientProviderApiError,
  InferenceClientProviderOutputError,
  setLogger,
} from '@huggingface/inference';
import { loadModel, serve, type BertModel, type ServeHandle } from '../src/node.js';
import { DEMO_NER, STRATEGIES, fixtureTexts, libraryAnswer } from './serve.helpers.js';

const TOKEN = 'test-token-not-hf';
const texts = fixtureTexts(DEMO_NER);
const LONG = Array.from({ length: 40 }, (_, i) => `Angela Merkel met Emmanuel Macron in Berlin on day ${i}.`).join(' ');

describe('@huggingface/inference against wgbert serve', () => {
  let model: BertModel;
  let server: ServeHandle;
  let client: InferenceClient;
  beforeAll(async () => {
    // The client logs a deprecation warning for request(); keep the test output clean.
    setLogger({ ...console, warn: () => {}, log: () => {} });
    model = await loadModel(DEMO_NER, { backend: 'cpu' });
    server = await serve({ model, port: 0, token: TOKEN });
    client = new InferenceClient(TOKEN).endpoint(server.url);
  });
  afterAll(async () => {
    await server?.close();
    model?.dispose();
  });

  for (const strategy of STRATEGIES.filter((s) => s !== 'none')) {
    it(`tokenClassification, strategy ${strategy}: the library's entities for every fixture text`, async () => {
      const got = await Promise.all(
        texts.map((inputs) =>
          client.tokenClassification(
            { inputs, parameters: { aggregation_strategy: strategy } },
            { retry_on_error: false },
          ),
        ),
      );
      for (let i = 0; i < texts.length; i++) {
        const want = await libraryAnswer(model, texts[i]!, { aggregation_strategy: strategy });
        expect(got[i], `${strategy}: ${texts[i]}`).toEqual(want);
      }
    });
  }

  it('strategy none (entity, not entity_group): the client rejects the shape itself, request() gets it', async () => {
    const text = texts[0]!;
    const want = await libraryAnswer(model, text, { aggregation_strategy: 'none' });
    expect(want.length).toBeGreaterThan(0);
    // The client checks every answer for entity_group; HF's own API answers 'none' the same way we do.
    await expect(
      client.tokenClassification({ inputs: text, parameters: { aggregation_strategy: 'none' } }),
    ).rejects.toBeInstanceOf(InferenceClientProviderOutputError);
    const all = await Promise.all(
      texts.map((inputs) =>
        client.request({ inputs, parameters: { aggregation_strategy: 'none' } }, { task: 'token-classification' }),
      ),
    );
    for (let i = 0; i < texts.length; i++)
      expect(all[i]).toEqual(await libraryAnswer(model, texts[i]!, { aggregation_strategy: 'none' }));
  });

  it('no strategy: "simple" (the API default); ignore_labels; a list of texts answers a list of lists', async () => {
    const text = texts[1]!;
    expect(await client.tokenClassification({ inputs: text })).toEqual(
      await libraryAnswer(model, text, { aggregation_strategy: 'simple' }),
    );
    const ignoring = await client.tokenClassification({
      inputs: text,
      parameters: { aggregation_strategy: 'first', ignore_labels: ['O', 'PER'] },
    });
    expect(ignoring).toEqual(
      await libraryAnswer(model, text, { aggregation_strategy: 'first', ignore_labels: ['O', 'PER'] }),
    );
    const some = texts.slice(0, 5);
    const lists = await client.request<unknown[]>(
      { inputs: some, parameters: { aggregation_strategy: 'max' } },
      { task: 'token-classification' },
    );
    expect(lists).toEqual(await Promise.all(some.map((t) => libraryAnswer(model, t, { aggregation_strategy: 'max' }))));
  });

  it('a text longer than the model accepts: windows, as the library does (with and without stride)', async () => {
    expect(model.tokenizer.encode(LONG).ids.length).toBeGreaterThan(model.maxLength);
    const plain = await client.tokenClassification({ inputs: LONG });
    expect(plain).toEqual(await libraryAnswer(model, LONG, { aggregation_strategy: 'simple' }));
    expect(plain.at(-1)?.end, 'the last entity is near the end: nothing was truncated').toBeGreaterThan(
      LONG.length - 60,
    );
    const strided = await client.tokenClassification({
      inputs: LONG,
      parameters: { aggregation_strategy: 'average', stride: 32 },
    });
    expect(strided).toEqual(await libraryAnswer(model, LONG, { aggregation_strategy: 'average', stride: 32 }));
  });

  it('without the bearer token: 401, which the client reports; bad parameters: the 400 message', async () => {
    const anonymous = new InferenceClient().endpoint(server.url);
    const e401 = await anonymous.tokenClassification({ inputs: 'x' }).catch((e: unknown) => e);
    expect(e401).toBeInstanceOf(InferenceClientProviderApiError);
    expect((e401 as InferenceClientProviderApiError).httpResponse.status).toBe(401);
    const e400 = await client
      .tokenClassification({ inputs: 'x', parameters: { aggregation_strategy: 'smple' as 'simple' } })
      .catch((e: unknown) => e);
    expect(e400).toBeInstanceOf(InferenceClientProviderApiError);
    expect((e400 as Error).message).toMatch(/parameters\.aggregation_strategy must be one of none, simple/);
    expect((e400 as InferenceClientProviderApiError).httpResponse.status).toBe(400);
  });
});
