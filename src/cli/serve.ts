/**
 * `wgbert serve`: the NER service (src/serve) from the command line. Prints one line when it is ready
 * (`wgbert serve: ready at http://…`), one JSON access-log line per request on stderr (sizes, timings and
 * status; never text) unless --quiet, and on SIGTERM or SIGINT stops accepting, answers every accepted
 * request, prints what it did and exits 0. A second signal exits at once (1).
 */
import { InputError } from '../errors.js';
import { serve, SERVE_DEFAULTS, type ServeOptions } from '../serve/serve.js';
import { backendOptions, parseCommand, type Command } from './args.js';
import { DEFAULT_MODEL } from './defaultModel.js';

export const SERVE_USAGE = `Usage: wgbert serve [options]

An NER service that speaks Hugging Face's Inference API (token classification): POST / with
{"inputs": "…" | ["…", …], "parameters": {"aggregation_strategy": "simple", "ignore_labels": ["O"], "stride": 16}}
answers the entities, as the library does. Also GET /health, /info, /metrics (Prometheus), /openapi.json.
Concurrent requests share forward passes (dynamic batching); answers equal one-by-one calls bit for bit.

Options:
  --model <dir|org/name>   model folder or hub repo id (default: the shipped demo model, weights/demo-ner)
  --backend <name>         cpu | webgpu | auto (default cpu)
  --dtype <name>           fp32 (default) | fp16 (WebGPU)
  --threads <n>            CPU threads (default: every core)
  --host <addr>            address to bind (default ${SERVE_DEFAULTS.host}: this machine only; 0.0.0.0: every interface)
  --port <n>               port (default ${SERVE_DEFAULTS.port}; 0: any free port)
  --max-batch <n>          most texts per forward pass (default ${SERVE_DEFAULTS.maxBatch}; 1: no batching)
  --max-wait-ms <ms>       how long an idle model waits for a batch to fill (default ${SERVE_DEFAULTS.maxWaitMs})
  --max-queue <n>          most requests accepted and not yet answered; beyond: 503 + Retry-After
                           (default ${SERVE_DEFAULTS.maxQueue})
  --max-body <bytes>       largest request body; beyond: 413 (default ${SERVE_DEFAULTS.maxBody})
  --headers-timeout-ms <ms>  time to receive a request's headers (default ${SERVE_DEFAULTS.headersTimeoutMs})
  --body-timeout-ms <ms>   time to receive a body after its headers; then 408 (default ${SERVE_DEFAULTS.bodyTimeoutMs})
  --cors <origin>          allow browsers from this origin ('*': any); CORS is off without it
  --token <token>          require Authorization: Bearer <token> (all routes but /health); or set WGBERT_TOKEN
  --quiet                  no access log
  -h, --help               this help`;

const INTEGER_OPTIONS = {
  threads: 'threads',
  port: 'port',
  'max-batch': 'maxBatch',
  'max-wait-ms': 'maxWaitMs',
  'max-queue': 'maxQueue',
  'max-body': 'maxBody',
  'headers-timeout-ms': 'headersTimeoutMs',
  'body-timeout-ms': 'bodyTimeoutMs',
} as const;

export async function runServe(args: string[]): Promise<number> {
  const cmd: Command = { name: 'wgbert serve', usage: SERVE_USAGE };
  const parsed = parseCommand(cmd, args, {
    model: { type: 'string' },
    backend: { type: 'string' },
    dtype: { type: 'string' },
    host: { type: 'string' },
    cors: { type: 'string' },
    token: { type: 'string' },
    quiet: { type: 'boolean' },
    ...Object.fromEntries(Object.keys(INTEGER_OPTIONS).map((k) => [k, { type: 'string' as const }])),
  });
  if (parsed === undefined) return 0;
  const values = parsed.values as Record<string, string | boolean | undefined>;
  if (parsed.positionals.length > 0)
    throw new InputError(`wgbert serve takes no arguments, got "${parsed.positionals[0]}" (see wgbert serve --help)`);

  const options: ServeOptions = {
    model: (values.model as string | undefined) ?? DEFAULT_MODEL,
    ...backendOptions(values),
  };
  for (const [flag, key] of Object.entries(INTEGER_OPTIONS)) {
    const v = values[flag];
    if (v === undefined) continue;
    if (typeof v !== 'string' || !/^\d+$/.test(v)) throw new InputError(`--${flag} must be a whole number, got "${v}"`);
    options[key] = Number(v);
  }
  for (const key of ['host', 'cors'] as const) {
    const v = values[key];
    if (typeof v === 'string') options[key] = v;
  }
  const token = (values.token as string | undefined) ?? process.env.WGBERT_TOKEN;
  if (token !== undefined && token !== '') options.token = token;
  if (!values.quiet) options.log = (entry) => process.stderr.write(`${JSON.stringify(entry)}\n`);

  const server = await serve(options);
  console.error(
    `wgbert serve: ready at ${server.url} (model ${server.model.name}, backend ${server.model.backend}, ` +
      `max-batch ${options.maxBatch ?? SERVE_DEFAULTS.maxBatch})`,
  );

  // Until SIGTERM / SIGINT: then drain, report, exit 0. A second signal: exit at once.
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  const force = () => {
    console.error('wgbert serve: second signal, exiting without draining');
    process.exit(1);
  };
  process.once('SIGTERM', force);
  process.once('SIGINT', force);
  const before = server.stats();
  console.error(`wgbert serve: ${signal}: draining (${before.inFlight} requests in flight)`);
  await server.close();
  const s = server.stats();
  console.error(
    `wgbert serve: stopped: ${s.accepted} requests accepted, ${s.answered} answered, ` +
      `${s.abandoned} abandoned by their clients`,
  );
  process.off('SIGTERM', force);
  process.off('SIGINT', force);
  return 0;
}
