// node: 90 exports
export interface AccessLogEntry {
    time: string;
    method: string;
    route: string;
    status: number;
    bytesIn: number;
    bytesOut: number;
    texts?: number;
    ms: number;
    error?: string;
}
export type AggregationStrategy = 'none' | 'simple' | 'first' | 'average' | 'max' | 'word';
export type BackendOption = 'cpu' | 'webgpu' | 'auto';
export interface BertConfig {
    vocabSize: number;
    hiddenSize: number;
    numLayers: number;
    numHeads: number;
    intermediateSize: number;
    maxPositions: number;
    typeVocabSize: number;
    layerNormEps: number;
    padTokenId: number;
    labels: string[];
    quantization?: CompressedTensorsConfig;
}
export class BertModel {
    readonly name: string;
    readonly config: BertConfig;
    readonly tokenizer: BertTokenizer;
    constructor(name: string, config: BertConfig, tokenizer: BertTokenizer, prepared: PreparedModel, limits?: BertModelLimits, quantized?: QuantizedDtype | undefined);
    readonly maxActivationFloats: number;
    get backend(): BackendName;
    get dtype(): ModelDtype;
    get labels(): string[];
    get maxLength(): number;
    forward(encodings: Encoding[]): Promise<ForwardResult>;
    logits(encoded: Encoding | Encoding[]): Promise<Tensor>;
    dispose(): void;
    pack(encodings: Encoding[]): BertInput;
}
export class BertTokenizer {
    readonly config: BertTokenizerConfig;
    readonly vocabSize: number;
    readonly padTokenId: number;
    readonly clsTokenId: number;
    readonly sepTokenId: number;
    readonly unkTokenId: number;
    readonly modelMaxLength: number;
    constructor(spec: TokenizerSpec);
    static fromTokenizerJson(json: unknown, tokenizerConfig?: unknown): BertTokenizer;
    static fromVocab(vocabText: string, tokenizerConfig?: unknown): BertTokenizer;
    encode(text: string, opts?: EncodeOptions): Encoding;
    encodeWords(words: string[], opts?: EncodeOptions): Encoding;
    encodeBatch(inputs: (string | string[])[], opts?: BatchOptions): Encoding[];
    convertTokensToString(tokens: string[]): string;
    tokenToId(token: string): number | undefined;
    idToToken(id: number): string | undefined;
}
export function blobByteSource(blob: Blob, label: string): ByteSource;
export interface ByteSource {
    readonly size: number;
    read(offset: number, length: number): Promise<Uint8Array>;
    readInto?(offset: number, target: Uint8Array): Promise<void>;
}
export function bytesSource(bytes: Uint8Array): ByteSource;
export interface CallOptions extends PostprocessOptions {
    aggregation_strategy?: AggregationStrategy;
    ignore_labels?: readonly string[];
    stride?: number;
    batchSize?: number;
    windowLength?: number;
    maxTextLength?: number;
}
export function clearModelCache(name?: string): Promise<boolean>;
export class ConfigError extends WgbertError {
    readonly name: string;
    constructor(message: string);
}
export const DEFAULT_MODELS: Record<Task, string>;
export type DefaultStrategy<T extends Task> = T extends 'pos' ? 'word' : 'none';
export interface DocLine {
    text: string;
    words: DocWord[];
    wordStarts: number[];
    box: [
        number,
        number,
        number,
        number
    ];
}
export interface DocPage {
    page: number;
    width: number;
    height: number;
    unit: 'px' | 'pt' | 'none';
    source: 'ocr' | 'pdf-text' | 'text';
    lines: DocLine[];
}
export interface DocWord {
    text: string;
    box: [
        number,
        number,
        number,
        number
    ];
    confidence: number;
}
export interface DoneProgressInfo {
    status: 'done';
    name: string;
    file: string;
}
export function downloadModel(repoId: string, opts?: DownloadOptions): Promise<string>;
export interface DownloadProgress {
    file: string;
    loaded: number;
    total: number | undefined;
    cached?: boolean;
}
export interface DownloadProgressInfo {
    status: 'download';
    name: string;
    file: string;
}
export type DtypeOption = 'fp32' | 'fp16' | 'q8' | 'q4' | 'f32' | 'f16';
export interface Encoding {
    ids: number[];
    tokens: string[];
    attentionMask: number[];
    typeIds: number[];
    wordIds: (number | null)[];
    specialTokensMask: number[];
    offsets: [
        number,
        number
    ][];
    offsetsUtf16: [
        number,
        number
    ][];
    overflowing: Encoding[];
}
export type EntitiesFor<I, S extends AggregationStrategy> = I extends string ? EntityOf<S>[] : EntityOf<S>[][];
export type Entity = TokenEntity | GroupedEntity | WordEntity;
export type EntityOf<S extends AggregationStrategy> = S extends 'none' ? TokenEntity : S extends 'word' ? WordEntity : GroupedEntity;
export function extractFromDocument(doc: InvoiceDocument, ner: TokenClassificationPipeline, opts?: ExtractOptions): Promise<InvoiceResult>;
export function extractInvoice(input: string | {
    bytes: Uint8Array;
    name: string;
}, options?: ExtractInvoiceOptions): Promise<InvoiceResult>;
export interface ExtractInvoiceOptions extends ExtractOptions, ReadOptions {
    ner?: TokenClassificationPipeline;
}
export interface FileLike extends Blob {
    readonly name: string;
    readonly webkitRelativePath?: string;
}
export function fileListModelSource(files: Iterable<FileLike> | ArrayLike<FileLike>, opts?: {
    name?: string;
}): ModelSource;
export function filesFromDataTransfer(dt: DataTransfer): Promise<FileLike[]>;
export function formatTrace(stages: readonly TraceStage[], opts?: {
    times?: boolean;
    digits?: number;
}): string;
export function fsModelSource(dir: string): ModelSource;
export class GpuError extends WgbertError {
    readonly name: string;
    constructor(message: string, options?: {
        cause?: unknown;
    });
}
export interface GroupedEntity {
    entity_group: string;
    score: number;
    word: string;
    start: number;
    end: number;
}
export class HubAuthError extends WgbertError {
    readonly name: string;
    readonly repoId: string;
    readonly status: number;
    constructor(repoId: string, status: number, message: string);
}
export class HubError extends WgbertError {
    readonly name: string;
    constructor(message: string, options?: {
        cause?: unknown;
    });
}
export class HubIntegrityError extends WgbertError {
    readonly name: string;
    readonly file: string;
    constructor(file: string, message: string);
}
export class HubNotFoundError extends ModelNotFoundError {
    readonly name: string;
    readonly repoId: string;
    readonly revision: string;
    readonly file: string | undefined;
    readonly what: 'repo' | 'revision' | 'file';
    constructor(what: 'repo' | 'revision' | 'file', repoId: string, revision: string, file: string | undefined, message: string);
}
export class HubOfflineError extends ModelNotFoundError {
    readonly name: string;
    readonly repoId: string;
    readonly missing: string[];
    constructor(repoId: string, missing: string[], message: string);
}
export interface InitiateProgressInfo {
    status: 'initiate';
    name: string;
    file: string;
}
export class InputError extends WgbertError {
    readonly name: string;
    constructor(message: string);
}
export interface InvoiceDocument {
    source: 'ocr' | 'pdf-text' | 'pdf-ocr' | 'text';
    pages: DocPage[];
    pageCount: number;
    readMs: number;
}
export interface InvoiceEntity {
    entity_group: string;
    word: string;
    score: number;
    page: number;
    box: Box;
}
export interface InvoiceField<T> {
    value: T;
    text: string;
    page: number;
    box: Box;
    confidence: number;
}
export interface InvoiceFields {
    invoice_number: InvoiceField<string> | null;
    issue_date: InvoiceField<string> | null;
    due_date: InvoiceField<string> | null;
    seller: InvoiceField<string> | null;
    buyer: InvoiceField<string> | null;
    total: InvoiceField<number> | null;
    tax: InvoiceField<number> | null;
    currency: InvoiceField<string> | null;
    iban: InvoiceField<string> | null;
    vat_id: InvoiceField<string> | null;
}
export interface InvoiceResult {
    fields: InvoiceFields;
    entities: InvoiceEntity[];
    pages: Pick<DocPage, 'page' | 'width' | 'height' | 'unit' | 'source'>[];
    source: InvoiceDocument['source'];
    pageCount: number;
    timings: {
        readMs: number;
        nerMs: number;
        fieldsMs: number;
    };
}
export function jsonSnippet(value: unknown, max?: number): string;
export function loadModel(model: string | ModelSource, opts?: LoadModelOptions): Promise<BertModel>;
export interface LoadModelOptions extends BertModelLimits {
    backend?: BackendOption;
    device?: BackendOption;
    dtype?: DtypeOption;
    threads?: number;
    fallback?: 'cpu';
    onIgnoredWeights?: (names: string[]) => void;
    progress_callback?: ProgressCallback;
    revision?: string;
    hubEndpoint?: string;
    trace?: Trace;
}
export function loadTokenizer(source: ModelSource): Promise<BertTokenizer>;
export const MODEL_CACHE_NAME = "wgbert-models";
export type ModelArgument = string | ModelSource | BertModel;
export type ModelDtype = 'fp32' | 'fp16' | 'q8' | 'q4';
export class ModelNotFoundError extends WgbertError {
    readonly name: string;
    constructor(message: string);
}
export interface ModelSource {
    readonly name: string;
    exists(file: string): Promise<boolean>;
    open(file: string): Promise<ByteSource>;
    readText(file: string): Promise<string>;
}
export class NetworkError extends HubError {
    readonly name: string;
}
export function pipeline<T extends Task>(task: T, options?: PipelineOptions): Promise<TokenClassificationPipeline<T>>;
export function pipeline<T extends Task>(task: T, model?: ModelArgument, options?: LoadModelOptions): Promise<TokenClassificationPipeline<T>>;
export interface PipelineOptions extends LoadModelOptions {
    model?: ModelArgument;
}
export function placeInFile(file: string, where?: {
    kind?: string;
    name?: string | undefined;
    offset?: number | undefined;
}): string;
export type ProgressCallback = (info: ProgressInfo) => void;
export type ProgressInfo = InitiateProgressInfo | DownloadProgressInfo | ProgressStatusInfo | DoneProgressInfo | ReadyProgressInfo;
export interface ProgressStatusInfo {
    status: 'progress';
    name: string;
    file: string;
    progress: number;
    loaded: number;
    total: number;
}
export function readInvoiceDocument(input: InvoiceInput, opts?: ReadOptions): Promise<InvoiceDocument>;
export function readSafetensors(src: ByteSource, file: string, opts?: {
    names?: string[];
    maxHeaderBytes?: number;
}): Promise<Map<string, Tensor>>;
export function readSafetensorsHeader(src: ByteSource, file: string, opts?: {
    maxHeaderBytes?: number;
}): Promise<SafetensorsHeader>;
export interface ReadyProgressInfo {
    status: 'ready';
    task: string;
    model: string;
}
export class SafetensorsError extends WgbertError {
    readonly name: string;
    readonly file: string;
    readonly tensor: string | undefined;
    readonly offset: number | undefined;
    constructor(file: string, message: string, where?: {
        tensor?: string;
        offset?: number;
    });
}
export type Segmentation = 'line' | 'block' | 'page';
export function serve(options: ServeOptions): Promise<ServeHandle>;
export const SERVE_DEFAULTS: Readonly<ServeLimits & {
    host: string;
    port: number;
}>;
export interface ServeHandle {
    readonly url: string;
    readonly model: BertModel;
    close(): Promise<void>;
    stats(): ServeStats;
}
export interface ServeOptions {
    model: ModelArgument;
    backend?: BackendOption;
    dtype?: DtypeOption;
    threads?: number;
    host?: string;
    port?: number;
    maxBatch?: number;
    maxWaitMs?: number;
    maxQueue?: number;
    maxBody?: number;
    headersTimeoutMs?: number;
    bodyTimeoutMs?: number;
    keepAliveTimeoutMs?: number;
    cors?: string;
    token?: string;
    log?: (entry: AccessLogEntry) => void;
}
export interface ServeStats {
    accepted: number;
    answered: number;
    abandoned: number;
    inFlight: number;
}
export function setModelResolver(r: ModelResolver): void;
export type StrategyOf<O, D extends AggregationStrategy> = Extract<OptionValue<O, 'aggregation', OptionValue<O, 'aggregation_strategy', D>>, AggregationStrategy>;
export type Task = 'ner' | 'token-classification' | 'pos';
export const TASKS: readonly Task[];
export class Tensor {
    readonly shape: readonly number[];
    readonly data: Float32Array;
    constructor(shape: readonly number[], data?: Float32Array);
    get size(): number;
    reshape(shape: readonly number[]): Tensor;
    toString(): string;
}
export interface TokenClassificationPipeline<T extends Task = Task> {
    <I extends string | readonly string[], const O extends CallOptions = {}>(input: I, opts?: O): Promise<EntitiesFor<I, StrategyOf<O, DefaultStrategy<T>>>>;
    readonly task: T;
    readonly model: BertModel;
    readonly backend: 'cpu' | 'webgpu';
    dispose(): void;
}
export interface TokenEntity {
    entity: string;
    score: number;
    index: number;
    word: string;
    start: number;
    end: number;
}
export class TokenizerError extends WgbertError {
    readonly name: string;
    constructor(message: string);
}
export class Trace {
    readonly count: number;
    readonly stages: TraceStage[];
    constructor(count?: number);
    start(): void;
    record(stage: string, shape: readonly number[], values: Float32Array | Int32Array): void;
    readonly observe: Observer<Tensor>;
}
export interface TraceStage {
    stage: string;
    shape: number[];
    ms: number;
    first: number[];
    meanAbs?: number;
}
export function urlModelSource(baseUrl: string, opts?: UrlSourceOptions): ModelSource;
export interface UrlSourceOptions {
    onProgress?: (p: DownloadProgress) => void;
    cache?: boolean | string;
    fetch?: typeof fetch;
    init?: RequestInit;
}
export class WeightsError extends WgbertError {
    readonly name: string;
    constructor(message: string);
}
export class WgbertError extends Error {
    readonly name: string;
    readonly code: string;
    constructor(code: string, message: string, options?: {
        cause?: unknown;
    });
}
export interface WordEntity {
    word: string;
    entity: string;
    score: number;
    start: number;
    end: number;
}

// referenced by the exports above, not exported by name:
interface AddedToken {
    id: number;
    content: string;
    singleWord: boolean;
    lstrip: boolean;
    rstrip: boolean;
    normalized: boolean;
    special: boolean;
}
type BackendName = 'cpu' | 'webgpu';
interface BatchOptions extends EncodeOptions {
    padding?: boolean | 'longest' | 'max_length';
}
interface BertInput {
    batch: number;
    seq: number;
    inputIds: Int32Array;
    tokenTypeIds: Int32Array;
    attentionMask: Int32Array;
}
interface BertModelLimits {
    maxActivationFloats?: number;
}
interface BertTokenizerConfig {
    doLowerCase: boolean;
    stripAccents: boolean | null;
    tokenizeChineseChars: boolean;
    cleanText: boolean;
    unkToken: string;
    clsToken: string;
    sepToken: string;
    padToken: string;
    maskToken: string;
    modelMaxLength: number;
    maxInputCharsPerWord: number;
}
type Box = [
    number,
    number,
    number,
    number
];
type CompressedFormat = 'int-quantized' | 'naive-quantized' | 'pack-quantized';
interface CompressedTensorsConfig {
    groups: QuantizationGroup[];
    ignore: string[];
}
interface DownloadOptions {
    revision?: string;
    cacheDir?: string;
    endpoint?: string;
    token?: string | false;
    offline?: boolean;
    onProgress?: (p: DownloadProgress) => void;
    onWarning?: (message: string) => void;
    env?: Env;
    maxRetries?: number;
    timeoutMs?: number;
    maxRedirects?: number;
}
interface EncodeOptions {
    addSpecialTokens?: boolean;
    truncation?: boolean;
    maxLength?: number;
    stride?: number;
}
type Env = Record<string, string | undefined>;
interface ExtractOptions {
    segment?: Segmentation;
}
interface ForwardResult {
    values: Float32Array;
    batch: number;
    seq: number;
    numLabels: number;
}
type InvoiceInput = string | {
    bytes: Uint8Array;
    name: string;
};
type ModelResolver = (location: string, opts: ResolveOptions) => Promise<ModelSource>;
interface NormalizerSettings {
    cleanText: boolean;
    handleChineseChars: boolean;
    stripAccents: boolean | null;
    lowercase: boolean;
}
type Observer<T> = (stage: string, x: T) => void;
type OptionValue<O, K extends string, Else> = K extends keyof O ? undefined extends O[K] ? Exclude<O[K], undefined> | Else : O[K] : Else;
interface PostprocessOptions {
    aggregation?: AggregationStrategy;
    ignoreLabels?: readonly string[];
    offsets?: 'codepoint' | 'utf16';
}
interface PreparedModel {
    readonly backend: BackendName;
    readonly dtype: 'f32' | 'f16';
    forward(input: BertInput): Promise<ForwardResult>;
    dispose(): void;
}
interface QuantizationGroup {
    name: string;
    targets: string[];
    weights: WeightArgs;
    format: CompressedFormat;
}
type QuantizedDtype = 'q8' | 'q4';
interface ReaderOptions {
    maxPages?: number;
    maxBytes?: number;
    ocrTimeoutMs?: number;
    pdfOcr?: boolean;
}
type ReadOptions = ReaderOptions;
interface ResolveOptions {
    hubEndpoint?: string;
    revision?: string;
    onProgress?: (p: {
        file: string;
        loaded: number;
        total: number | undefined;
        done: boolean;
    }) => void;
}
type SafetensorsDType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';
interface SafetensorsHeader {
    file: string;
    fileSize: number;
    dataStart: number;
    metadata: Record<string, string>;
    tensors: SafetensorsTensorInfo[];
}
interface SafetensorsTensorInfo {
    name: string;
    dtype: SafetensorsDType;
    shape: number[];
    begin: number;
    end: number;
}
interface ServeLimits {
    maxBatch: number;
    maxWaitMs: number;
    maxQueue: number;
    maxBody: number;
    headersTimeoutMs: number;
    bodyTimeoutMs: number;
    keepAliveTimeoutMs: number;
}
interface SingleTemplate {
    prefix: TemplateToken[];
    suffix: TemplateToken[];
    sequenceTypeId: number;
}
interface TemplateToken {
    id: number;
    token: string;
    typeId: number;
}
interface TokenizerSpec {
    vocab: Map<string, number>;
    unkToken: string;
    continuingSubwordPrefix: string;
    maxInputCharsPerWord: number;
    normalizer: NormalizerSettings | null;
    preTokenizer: 'bert' | 'none';
    template: SingleTemplate | null;
    addedTokens: AddedToken[];
    decoder: {
        prefix: string;
        cleanup: boolean;
    };
    modelMaxLength: number;
    clsToken: string;
    sepToken: string;
    padToken: string;
    maskToken: string;
}
interface WeightArgs {
    bits: 8 | 4;
    strategy: 'channel' | 'group' | 'tensor';
    groupSize?: number;
}
