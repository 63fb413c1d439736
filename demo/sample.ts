/**
 * The demo's sample text: a short invoice, one sentence per line, each classified on its own (./lines.ts).
 * test/demo.sample.test.ts checks that demo-ner finds the entities a reader would mark in it.
 */
export const SAMPLE_INVOICE = [
  'Invoice INV-2024-001, issued by Acme Corporation in Berlin on 12 March 2024.',
  'Jane Smith of London ordered 40 office chairs from Acme Corporation of Berlin.',
  'The chairs were shipped from Hamburg to London by DHL on 18 March 2024.',
  'Payment of 12,480 euros is due to Deutsche Bank in Frankfurt within 30 days.',
  'Please send questions to Maria Garcia in Madrid.',
].join('\n');
