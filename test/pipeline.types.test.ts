/**
 * Compile-time tests of the pipeline's result types (checked by `tsc -p tsconfig.json`, which `npm test`
 * runs first): a call's result type follows its strategy (`aggregation` or `aggregation_strategy`), the
 * task's default when none is given, and the input (a string → an array, an array → an array of arrays);
 * a misspelt strategy or task does not compile (`@ts-expect-error` fails the type check if it does).
 * Each typed call also runs on the demo model, checking that the runtime shape is the one the type says.
 */
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import { join } from 'node:path';
import { REPO_ROOT } from './fixtures.js';
import {
  pipeline,
  loadModel,
  type CallOptions,
  type Entity,
  type GroupedEntity,
  type ModelDtype,
  type ProgressInfo,
  type TokenClassificationPipeline,
  type TokenEntity,
  type WordEntity,
} from '../src/node.js';

const MODEL = join(REPO_ROOT, 'weights/demo-ner');
const TEXT = 'Angela Merkel met Emmanuel Macron in Berlin.';

describe('pipeline result types', () => {
  let ner: TokenClassificationPipeline<'ner'>;
  let pos: TokenClassificationPipeline<'pos'>;
  beforeAll(async () => {
    ner = await pipeline('ner', MODEL, { device: 'cpu' });
    // (demo-ner as a stand-in tagger: only the types and shapes matter)
    pos = await pipeline('pos', { model: ner.model });
  });
  afterAll(() => ner?.dispose());

  it('pipeline(task, …) is typed by its task', async () => {
    // (Functions, not calls: only their types are looked at.)
    expectTypeOf(() => pipeline('ner', MODEL)).returns.resolves.toEqualTypeOf<TokenClassificationPipeline<'ner'>>();
    expectTypeOf(() => pipeline('pos', { model: MODEL })).returns.resolves.toEqualTypeOf<
      TokenClassificationPipeline<'pos'>
    >();
    expectTypeOf(() => pipeline('token-classification', MODEL, { device: 'cpu' })).returns.resolves.toEqualTypeOf<
      TokenClassificationPipeline<'token-classification'>
    >();
    expectTypeOf(ner.task).toEqualTypeOf<'ner'>();
    expectTypeOf(ner.model.dtype).toEqualTypeOf<ModelDtype>();
    expect(ner.task).toBe('ner');
    expect(pos.task).toBe('pos');
    // A pipeline of one task is a pipeline of any task (what variables typed TokenClassificationPipeline hold).
    const any: TokenClassificationPipeline = ner;
    expect(any.task).toBe('ner');
  });

  it("each strategy types its entities; README's `e.entity_group` compiles", async () => {
    const simple = await ner(TEXT, { aggregation: 'simple' });
    expectTypeOf(simple).toEqualTypeOf<GroupedEntity[]>();
    expect(simple.map((e) => e.entity_group)).toContain('PER');

    for (const strategy of ['first', 'average', 'max'] as const) {
      const grouped = await ner(TEXT, { aggregation: strategy });
      expectTypeOf(grouped).toEqualTypeOf<GroupedEntity[]>();
      expect(grouped[0]).toHaveProperty('entity_group');
    }

    const none = await ner(TEXT, { aggregation: 'none' });
    expectTypeOf(none).toEqualTypeOf<TokenEntity[]>();
    expect(typeof none[0]!.index).toBe('number');

    const word = await ner(TEXT, { aggregation: 'word' });
    expectTypeOf(word).toEqualTypeOf<WordEntity[]>();
    expect(word[0]).toHaveProperty('entity');
    expect(word[0]).not.toHaveProperty('index');
  });

  it('aggregation_strategy (HF / transformers.js) types the same way', async () => {
    const simple = await ner(TEXT, { aggregation_strategy: 'simple', ignore_labels: ['O'] });
    expectTypeOf(simple).toEqualTypeOf<GroupedEntity[]>();
    expect(simple[0]).toHaveProperty('entity_group');
    const none = await ner(TEXT, { aggregation_strategy: 'none' });
    expectTypeOf(none).toEqualTypeOf<TokenEntity[]>();
    expect(none[0]).toHaveProperty('index');
  });

  it("no strategy: the task's default (ner → TokenEntity, pos → WordEntity)", async () => {
    const plain = await ner(TEXT);
    expectTypeOf(plain).toEqualTypeOf<TokenEntity[]>();
    expect(plain[0]).toHaveProperty('index');
    const withOthers = await ner(TEXT, { offsets: 'utf16' });
    expectTypeOf(withOthers).toEqualTypeOf<TokenEntity[]>();

    const tags = await pos(TEXT);
    expectTypeOf(tags).toEqualTypeOf<WordEntity[]>();
    expect(tags[0]).not.toHaveProperty('index');
    expect(tags.map((t) => t.entity)).toContain('O'); // pos ignores no label
    const grouped = await pos(TEXT, { aggregation: 'simple' });
    expectTypeOf(grouped).toEqualTypeOf<GroupedEntity[]>();
    expect(grouped[0]).toHaveProperty('entity_group');
  });

  it('an array of texts gives an array of arrays', async () => {
    const many = await ner([TEXT, 'Paris.'], { aggregation: 'simple' });
    expectTypeOf(many).toEqualTypeOf<GroupedEntity[][]>();
    expect(many).toHaveLength(2);
    expect(many[0]![0]).toHaveProperty('entity_group');
    const texts: readonly string[] = [TEXT];
    const tokens = await ner(texts);
    expectTypeOf(tokens).toEqualTypeOf<TokenEntity[][]>();
    expect(tokens[0]![0]).toHaveProperty('index');
  });

  it('options known only at run time give the union of entity types', async () => {
    const opts: CallOptions = { aggregation: 'simple' };
    const some = await ner(TEXT, opts);
    expectTypeOf(some).toEqualTypeOf<Entity[]>();
    expect(some[0]).toHaveProperty('entity_group');
    const input: string | string[] = Math.random() < 2 ? TEXT : [TEXT];
    const either = await ner(input, { aggregation: 'first' });
    expectTypeOf(either).toEqualTypeOf<GroupedEntity[] | GroupedEntity[][]>();
    expect(Array.isArray(either)).toBe(true);
  });

  it(
    'a misspelt strategy, option or task, or the model given twice, does not compile ' +
      '(and throws an InputError at run time)',
    async () => {
      await expect(
        // @ts-expect-error — 'simpel' is not an AggregationStrategy
        ner(TEXT, { aggregation: 'simpel' }),
      ).rejects.toThrow(/aggregation must be one of none, simple, first, average, max, word, got "simpel"/);
      await expect(
        // @ts-expect-error — nor under HF's name
        ner(TEXT, { aggregation_strategy: 'SIMPLE' }),
      ).rejects.toThrow(/aggregation_strategy must be one of/);
      await expect(
        // @ts-expect-error — an unknown call option
        ner(TEXT, { agregation: 'simple' }),
      ).rejects.toThrow(/unknown option "agregation"/);
      await expect(
        // @ts-expect-error — an unknown pipeline option
        pipeline('ner', MODEL, { devcie: 'cpu' }),
      ).rejects.toThrow(/unknown option "devcie" for pipeline\(\)/);
      await expect(
        // @ts-expect-error — the model given twice (positionally, then in the options)
        pipeline('ner', MODEL, { model: MODEL }),
      ).rejects.toThrow(/model is given twice/);
      await expect(
        // @ts-expect-error — an unknown task
        pipeline('sentiment-analysis', MODEL),
      ).rejects.toThrow(/unknown task "sentiment-analysis"/);
      await expect(
        // @ts-expect-error — dtype names are transformers.js's (or f32 / f16)
        loadModel(MODEL, { dtype: 'float16' }),
      ).rejects.toThrow(/dtype must be one of fp32, fp16, q8, q4, f32, f16/);
    },
  );

  it('progress_callback receives the typed events', async () => {
    const statuses: ProgressInfo['status'][] = [];
    const p = await pipeline('ner', MODEL, {
      progress_callback: (info) => {
        expectTypeOf(info).toEqualTypeOf<ProgressInfo>();
        if (info.status === 'progress') expectTypeOf(info.progress).toEqualTypeOf<number>();
        if (info.status === 'ready') expectTypeOf(info.task).toEqualTypeOf<string>();
        statuses.push(info.status);
      },
    });
    p.dispose();
    expect(statuses.at(-1)).toBe('ready');
  });
});
