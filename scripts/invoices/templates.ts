/**
 * The eight invoice templates of the synthetic invoice set: functions from an invoice record (./data.ts) to one
 * A4 HTML page with inline CSS, rendered by ./generate.ts. t1–t4 are the "dev" split (rules are written against
 * them), t5–t8 the held-out "test" split; each template has its own layout, font, label wording, date and money
 * format, and invoice-number shape, and two (t2 dev, t6 test) are German.
 */
import { COUNTRIES, type Currency, type InvoiceProfile, type InvoiceRecord, type Party } from './data.js';

export interface Template {
  id: string;
  split: 'dev' | 'test';
  language: 'en' | 'de';
  /** One line for the README: layout, font, formats. */
  description: string;
  profile: InvoiceProfile;
  render(invoice: InvoiceRecord): string;
}

// ---------------------------------------------------------------------------------------------------------------
// Formats

const MONTHS_EN = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];
const MONTHS_DE = [
  'Januar',
  'Februar',
  'März',
  'April',
  'Mai',
  'Juni',
  'Juli',
  'August',
  'September',
  'Oktober',
  'November',
  'Dezember',
];

/** Date styles, named by how 14 March 2026 prints. */
type DateStyle =
  | '2026-03-14'
  | '14 March 2026'
  | 'Mar 14, 2026'
  | '14.03.2026'
  | '03/14/2026'
  | '14/03/2026'
  | '14. März 2026';

function formatDate(iso: string, style: DateStyle): string {
  const [y, m, d] = iso.split('-') as [string, string, string];
  const month = Number(m) - 1;
  switch (style) {
    case '2026-03-14':
      return iso;
    case '14 March 2026':
      return `${Number(d)} ${MONTHS_EN[month]} ${y}`;
    case 'Mar 14, 2026':
      return `${MONTHS_EN[month]!.slice(0, 3)} ${Number(d)}, ${y}`;
    case '14.03.2026':
      return `${d}.${m}.${y}`;
    case '03/14/2026':
      return `${m}/${d}/${y}`;
    case '14/03/2026':
      return `${d}/${m}/${y}`;
    case '14. März 2026':
      return `${Number(d)}. ${MONTHS_DE[month]} ${y}`;
  }
}

/** Number styles: 1,234.56 (en), 1.234,56 (de), 1'234.56 (ch). */
type NumberStyle = 'en' | 'de' | 'ch';

function formatNumber(cents: number, style: NumberStyle): string {
  const [thousands, decimal] = style === 'en' ? [',', '.'] : style === 'de' ? ['.', ','] : ["'", '.'];
  const whole = String(Math.floor(cents / 100)).replace(/\B(?=(\d{3})+(?!\d))/g, thousands);
  return `${whole}${decimal}${String(cents % 100).padStart(2, '0')}`;
}

const SYMBOLS: Record<Currency, string> = { EUR: '€', USD: '$', GBP: '£', CHF: 'CHF ' };

/**
 * Money styles: "€1,234.56" (symbol), "USD 1,234.56" (code), "1.234,56 €" (de), "€ 1.234,56" (nl); CHF is
 * always "CHF 1'234.50".
 */
type MoneyStyle = 'symbol' | 'code' | 'de' | 'nl';

function formatMoney(cents: number, currency: Currency, style: MoneyStyle): string {
  if (currency === 'CHF') return `CHF ${formatNumber(cents, 'ch')}`;
  switch (style) {
    case 'symbol':
      return SYMBOLS[currency] + formatNumber(cents, 'en');
    case 'code':
      return `${currency} ${formatNumber(cents, 'en')}`;
    case 'de':
      return `${formatNumber(cents, 'de')} ${SYMBOLS[currency]}`;
    case 'nl':
      return `${SYMBOLS[currency]} ${formatNumber(cents, 'de')}`;
  }
}

/** "19%" (en) or "19 %" (de). */
const percent = (rate: number, language: 'en' | 'de') => (language === 'de' ? `${rate} %` : `${rate}%`);

/** An IBAN in groups of four, as printed. */
const groupedIban = (iban: string) => iban.replace(/(.{4})(?!$)/g, '$1 ');

/** Days from issue to due date (for "payable within N days"). */
const termDays = (invoice: InvoiceRecord, due: string) =>
  Math.round((Date.parse(due) - Date.parse(invoice.issueDate)) / 86_400_000);

// ---------------------------------------------------------------------------------------------------------------
// HTML helpers

const esc = (text: string) =>
  text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** Escaped lines joined by <br>, skipping empty ones. */
const lines = (...parts: (string | null | undefined | false)[]) =>
  parts
    .filter((p): p is string => typeof p === 'string' && p !== '')
    .map(esc)
    .join('<br>');

/** Street, city line and (when abroad from `home`) the country, in the page's language. */
function addressLines(party: Party, language: 'en' | 'de', home: Party['country'] | null): string[] {
  const country = party.country === home ? null : COUNTRIES[party.country].name[language];
  return [party.street, party.cityLine, ...(country === null ? [] : [country])];
}

/** A line of a totals block: a table row, or a flex div of two spans. */
const tableRow = (label: string, amount: string) => `<tr><td>${label}</td><td class="num">${amount}</td></tr>`;
const boxRow = (label: string, amount: string) => `<div><span>${label}</span><span>${amount}</span></div>`;

/** The tax line's label from the rate, or null when the invoice prints no tax line. */
const taxLabel = (inv: InvoiceRecord, label: (rate: number) => string) =>
  inv.taxRate === null ? null : label(inv.taxRate);

/** Initials for a drawn logo: the first letters of the first two words. */
const initials = (name: string) =>
  name
    .split(/[\s&]+/)
    .filter((w) => /^\p{Lu}/u.test(w))
    .slice(0, 2)
    .map((w) => w[0])
    .join('');

/** The whole page: A4, no margins (the templates pad themselves), the template's CSS after the base. */
function page(language: 'en' | 'de', css: string, body: string): string {
  return `<!doctype html>
<html lang="${language}"><head><meta charset="utf-8"><title>${language === 'de' ? 'Rechnung' : 'Invoice'}</title><style>
@page { size: A4; margin: 0; }
* { box-sizing: border-box; }
html, body { margin: 0; padding: 0; background: #fff; color: #111; }
.page { width: 210mm; height: 297mm; position: relative; overflow: hidden; }
table { border-collapse: collapse; }
.num { text-align: right; white-space: nowrap; }
${css}
</style></head><body><div class="page">${body}</div></body></html>`;
}

// ---------------------------------------------------------------------------------------------------------------
// t1 (dev): classic English invoice, logo and name top-left, seller address top-right

const t1: Template = {
  id: 't1',
  split: 'dev',
  language: 'en',
  description:
    'classic: logo + name top-left, seller address top-right, "Bill to" left and meta table right, ruled item ' +
    'table, right-aligned totals, bank footer; DejaVu Sans 12 px; "14 March 2026"; "€1,234.56" / "CHF 1\'234.50"',
  profile: {
    language: 'en',
    sellerCountries: ['NL', 'CH', 'ES', 'FR', 'DE'],
    buyerCountries: ['NL', 'FR', 'DE', 'GB', 'ES', 'IT', 'PL', 'TR'],
    numberShape: 'INV-year-4',
    noTaxShare: 0.1,
  },
  render(inv) {
    const money = (cents: number) => formatMoney(cents, inv.currency, 'symbol');
    const date = (iso: string) => formatDate(iso, '14 March 2026');
    const { seller, buyer } = inv;
    const tax = taxLabel(inv, (rate) => `VAT ${percent(rate, 'en')}`);
    const css = `
.page { padding: 18mm 18mm; font: 12px/1.45 'DejaVu Sans', sans-serif; }
.top { display: flex; justify-content: space-between; align-items: flex-start; }
.brand { display: flex; align-items: center; gap: 10px; }
.logo { width: 46px; height: 46px; border-radius: 8px; background: #2b5d8a; color: #fff; font-weight: bold;
  font-size: 18px; display: flex; align-items: center; justify-content: center; }
.brand .name { font-size: 17px; font-weight: bold; }
.seller-address { text-align: right; color: #333; }
h1 { font-size: 26px; letter-spacing: 4px; margin: 14mm 0 6mm; color: #2b5d8a; }
.parties { display: flex; justify-content: space-between; }
h2 { font-size: 12px; text-transform: uppercase; color: #666; margin: 0 0 4px; }
.meta th { text-align: left; padding: 2px 14px 2px 0; color: #444; font-weight: normal; }
.meta td { text-align: right; font-weight: bold; }
.items { width: 100%; margin-top: 10mm; }
.items th { text-align: left; border-bottom: 2px solid #2b5d8a; padding: 6px 4px; }
.items td { border-bottom: 1px solid #ccc; padding: 6px 4px; }
.items th.num { text-align: right; }
.totals { margin: 6mm 0 0 auto; min-width: 42%; }
.totals td { padding: 3px 4px; }
.totals .total td { border-top: 2px solid #111; font-weight: bold; font-size: 14px; padding-top: 6px; }
.terms { margin-top: 10mm; color: #333; }
footer { position: absolute; left: 18mm; right: 18mm; bottom: 14mm; border-top: 1px solid #999; padding-top: 8px;
  font-size: 11px; color: #333; text-align: center; }`;
    const due = inv.dueDate;
    const body = `
<div class="top">
  <div class="brand">
    <div class="logo">${esc(initials(seller.name))}</div><div class="name">${esc(seller.name)}</div>
  </div>
  <div class="seller-address">${lines(...addressLines(seller, 'en', null), seller.phone, seller.email)}</div>
</div>
<h1>INVOICE</h1>
<div class="parties">
  <div><h2>Bill to</h2>${lines(
    buyer.name,
    buyer.contact && `Attn: ${buyer.contact}`,
    ...addressLines(buyer, 'en', seller.country),
  )}</div>
  <table class="meta">
    <tr><th>Invoice No.</th><td>${esc(inv.number)}</td></tr>
    <tr><th>Date</th><td>${date(inv.issueDate)}</td></tr>
    ${due === null ? '' : `<tr><th>Due date</th><td>${date(due)}</td></tr>`}
  </table>
</div>
<table class="items">
  <thead><tr><th>Description</th><th class="num">Qty</th><th class="num">Unit price</th><th class="num">Amount</th></tr>
  </thead>
  <tbody>${inv.items
    .map(
      (it) =>
        `<tr><td>${esc(it.description)}</td><td class="num">${it.quantity}</td>` +
        `<td class="num">${money(it.unitCents)}</td><td class="num">${money(it.amountCents)}</td></tr>`,
    )
    .join('')}</tbody>
</table>
<table class="totals">
  <tr><td>Subtotal</td><td class="num">${money(inv.subtotalCents)}</td></tr>
  ${tax === null ? '' : tableRow(tax, money(inv.taxCents!))}
  <tr class="total"><td>Total</td><td class="num">${money(inv.totalCents)}</td></tr>
</table>
<p class="terms">${
      due === null
        ? 'Payable upon receipt.'
        : `Payment terms: ${termDays(inv, due)} days net. Please quote the invoice number with your payment.`
    }</p>
<footer>
  ${lines(
    inv.bankAccount?.iban &&
      `${inv.bankAccount.bank} · IBAN ${groupedIban(inv.bankAccount.iban)} · BIC ${inv.bankAccount.bic}`,
    [seller.name, seller.vatId && `VAT ID ${seller.vatId}`, seller.website].filter(Boolean).join(' · '),
  )}
</footer>`;
    return page('en', css, body);
  },
};

// ---------------------------------------------------------------------------------------------------------------
// t2 (dev): German business letter (DIN 5008): letterhead top-right, address window left, info block right

const t2: Template = {
  id: 't2',
  split: 'dev',
  language: 'de',
  description:
    'German DIN 5008 letter: letterhead top-right, return line + "Rechnungsempfänger" window left, info block ' +
    'right, grid table, three-column footer (bank, USt-IdNr.); DejaVu Serif 11 px; "14.03.2026"; "1.234,56 €"',
  profile: {
    language: 'de',
    sellerCountries: ['DE'],
    buyerCountries: ['DE', 'DE', 'AT', 'CH'],
    numberShape: 'RE-5',
    noTaxShare: 0.2,
  },
  render(inv) {
    const money = (cents: number) => formatMoney(cents, inv.currency, 'de');
    const date = (iso: string) => formatDate(iso, '14.03.2026');
    const { seller, buyer } = inv;
    const tax = taxLabel(inv, (rate) => `MwSt. ${percent(rate, 'de')}`);
    const css = `
.page { padding: 12mm 20mm 0 25mm; font: 11px/1.5 'DejaVu Serif', serif; }
.letterhead { text-align: right; }
.letterhead .firm { font-size: 18px; font-weight: bold; letter-spacing: 0.5px; }
.upper { display: flex; justify-content: space-between; margin-top: 12mm; }
.window { width: 85mm; min-height: 40mm; }
.return { font-size: 8px; text-decoration: underline; margin-bottom: 3mm; }
.label { font-size: 9px; color: #555; }
.info td { padding: 1px 0 1px 12px; }
.info td:first-child { color: #444; padding-left: 0; }
h1 { font-size: 16px; margin: 10mm 0 4mm; }
.items { width: 100%; margin-top: 5mm; }
.items th, .items td { border: 1px solid #999; padding: 4px 6px; }
.items th { background: #eee; text-align: left; }
.totals { margin: 4mm 0 0 auto; width: 48%; }
.totals td { padding: 2px 6px; }
.totals .total td { border-top: 1px solid #111; border-bottom: 3px double #111; font-weight: bold; }
footer { position: absolute; left: 25mm; right: 20mm; bottom: 12mm; display: flex; justify-content: space-between;
  gap: 8mm; border-top: 1px solid #666; padding-top: 6px; font-size: 9px; color: #333; }`;
    const due = inv.dueDate;
    const account = inv.bankAccount;
    const body = `
<div class="letterhead"><div class="firm">${esc(seller.name)}</div>${lines(
      seller.street,
      seller.cityLine,
      `Tel. ${seller.phone}`,
      `E-Mail ${seller.email}`,
    )}</div>
<div class="upper">
  <div class="window">
    <div class="return">${esc(`${seller.name} · ${seller.street} · ${seller.cityLine}`)}</div>
    <div class="label">Rechnungsempfänger</div>
    ${lines(
      buyer.name,
      buyer.contact && `z. Hd. ${buyer.contact}`,
      buyer.street,
      buyer.cityLine,
      buyer.country === seller.country ? null : COUNTRIES[buyer.country].name.de.toUpperCase(),
    )}
  </div>
  <table class="info">
    <tr><td>Rechnungsnummer</td><td>${esc(inv.number)}</td></tr>
    <tr><td>Rechnungsdatum</td><td>${date(inv.issueDate)}</td></tr>
    ${due === null ? '' : `<tr><td>Fällig am</td><td>${date(due)}</td></tr>`}
    <tr><td>Kundennummer</td><td>${esc(inv.customerNumber)}</td></tr>
    ${buyer.vatId === null ? '' : `<tr><td>Ihre USt-IdNr.</td><td>${esc(buyer.vatId)}</td></tr>`}
  </table>
</div>
<h1>Rechnung</h1>
<p>Sehr geehrte Damen und Herren,<br>
für unsere Leistungen erlauben wir uns, Ihnen Folgendes in Rechnung zu stellen:</p>
<table class="items">
  <tr><th>Pos.</th><th>Bezeichnung</th><th class="num">Menge</th><th class="num">Einzelpreis</th>
    <th class="num">Gesamtpreis</th></tr>
  ${inv.items
    .map(
      (it, i) =>
        `<tr><td>${i + 1}</td><td>${esc(it.description)}</td><td class="num">${it.quantity}</td>` +
        `<td class="num">${money(it.unitCents)}</td><td class="num">${money(it.amountCents)}</td></tr>`,
    )
    .join('')}
</table>
<table class="totals">
  <tr><td>Zwischensumme</td><td class="num">${money(inv.subtotalCents)}</td></tr>
  ${tax === null ? '' : tableRow(tax, money(inv.taxCents!))}
  <tr class="total"><td>Gesamtbetrag</td><td class="num">${money(inv.totalCents)}</td></tr>
</table>
${inv.taxRate === null ? '<p>Gemäß § 19 UStG wird keine Umsatzsteuer berechnet.</p>' : ''}
<p>${
      due === null
        ? 'Zahlbar sofort ohne Abzug.'
        : `Bitte überweisen Sie den Betrag bis zum ${date(due)} unter Angabe der Rechnungsnummer.`
    }<br>Mit freundlichen Grüßen<br>${esc(seller.name)}</p>
<footer>
  <div>${lines(seller.name, seller.street, seller.cityLine)}</div>
  <div>${
    account?.iban
      ? lines('Bankverbindung', account.bank, `IBAN ${groupedIban(account.iban)}`, `BIC ${account.bic}`)
      : ''
  }</div>
  <div>${lines(
    seller.vatId && `USt-IdNr.: ${seller.vatId}`,
    `Geschäftsführer: ${seller.director}`,
    seller.register,
  )}</div>
</footer>`;
    return page('de', css, body);
  },
};

// ---------------------------------------------------------------------------------------------------------------
// t3 (dev): US invoice with a dark header band, three columns, zebra table and a totals box

const t3: Template = {
  id: 't3',
  split: 'dev',
  language: 'en',
  description:
    'US: dark header band (name left, INVOICE right), "Billed to" | meta | "Amount due" columns, zebra table, ' +
    'totals in a shaded box, ACH payment line; DejaVu Sans Condensed 12 px; "03/14/2026"; "$1,234.56"',
  profile: {
    language: 'en',
    sellerCountries: ['US'],
    buyerCountries: ['US', 'US', 'US', 'GB'],
    numberShape: 'A-6',
    noTaxShare: 0.3,
  },
  render(inv) {
    const money = (cents: number) => formatMoney(cents, inv.currency, 'symbol');
    const date = (iso: string) => formatDate(iso, '03/14/2026');
    const { seller, buyer } = inv;
    const tax = taxLabel(inv, (rate) => `Tax (${percent(rate, 'en')})`);
    const css = `
.page { font: 12px/1.45 'DejaVu Sans Condensed', 'DejaVu Sans', sans-serif; font-stretch: condensed; }
.band { background: #1f3a5f; color: #fff; padding: 12mm 16mm 8mm; display: flex; justify-content: space-between;
  align-items: flex-end; }
.band .name { font-size: 20px; font-weight: bold; }
.band .title { font-size: 30px; letter-spacing: 3px; }
.sub { padding: 3mm 16mm; color: #333; border-bottom: 1px solid #ccd; }
.cols { display: flex; gap: 10mm; padding: 8mm 16mm 0; }
.cols > div { flex: 1; }
h3 { font-size: 11px; color: #1f3a5f; margin: 0 0 4px; }
.meta div { display: flex; justify-content: space-between; }
.due { background: #e8edf4; padding: 4mm; text-align: right; }
.due .big { font-size: 22px; font-weight: bold; }
.items { width: calc(100% - 32mm); margin: 10mm 16mm 0; }
.items th { background: #1f3a5f; color: #fff; text-align: left; padding: 6px 8px; }
.items td { padding: 6px 8px; }
.items tr:nth-child(even) td { background: #f0f3f7; }
.items th.num { text-align: right; }
.box { margin: 6mm 16mm 0 auto; width: 75mm; border: 1px solid #1f3a5f; background: #f6f8fb; padding: 3mm 4mm; }
.box div { display: flex; justify-content: space-between; padding: 2px 0; }
.box .total { font-weight: bold; font-size: 14px; border-top: 1px solid #1f3a5f; margin-top: 4px; padding-top: 5px; }
.notes { padding: 10mm 16mm 0; color: #333; }
footer { position: absolute; left: 16mm; right: 16mm; bottom: 12mm; text-align: center; color: #1f3a5f;
  font-style: italic; }`;
    const due = inv.dueDate;
    const account = inv.bankAccount;
    const body = `
<div class="band"><div class="name">${esc(seller.name)}</div><div class="title">INVOICE</div></div>
<div class="sub">${esc([seller.street, seller.cityLine, seller.phone, seller.email].join(' · '))}</div>
<div class="cols">
  <div><h3>Billed to</h3>${lines(buyer.name, buyer.contact, ...addressLines(buyer, 'en', seller.country))}</div>
  <div class="meta">
    <div><span>Invoice #</span><b>${esc(inv.number)}</b></div>
    <div><span>Invoice date</span><span>${date(inv.issueDate)}</span></div>
    <div><span>Payment due</span><span>${due === null ? 'On receipt' : date(due)}</span></div>
    <div><span>PO #</span><span>${esc(inv.orderNumber)}</span></div>
  </div>
  <div class="due"><div>Amount due (${inv.currency})</div><div class="big">${money(inv.totalCents)}</div></div>
</div>
<table class="items">
  <tr><th>Description</th><th class="num">Rate</th><th class="num">Qty</th><th class="num">Line total</th></tr>
  ${inv.items
    .map(
      (it) =>
        `<tr><td>${esc(it.description)}</td><td class="num">${money(it.unitCents)}</td>` +
        `<td class="num">${it.quantity}</td><td class="num">${money(it.amountCents)}</td></tr>`,
    )
    .join('')}
</table>
<div class="box">
  <div><span>Subtotal</span><span>${money(inv.subtotalCents)}</span></div>
  ${tax === null ? '' : boxRow(tax, money(inv.taxCents!))}
  <div class="total"><span>Total</span><span>${money(inv.totalCents)}</span></div>
</div>
<div class="notes">${
      account === null
        ? 'Payment by check or credit card.'
        : lines(
            `Payment by ACH transfer to ${account.bank}`,
            `Routing no. ${account.routing} · Account no. ${account.account}`,
          )
    }</div>
<footer>Thank you for your business! · ${esc(seller.website)}</footer>`;
    return page('en', css, body);
  },
};

// ---------------------------------------------------------------------------------------------------------------
// t4 (dev): UK invoice, everything stacked in one column, monospaced

const t4: Template = {
  id: 't4',
  split: 'dev',
  language: 'en',
  description:
    'UK, stacked single column: seller top-left, key-value meta, "Customer" block, dashed table, totals left, ' +
    'bank transfer block (sort code, IBAN), "VAT Reg. No." footer; DejaVu Sans Mono 11 px; "14/03/2026"; "£1,234.56"',
  profile: {
    language: 'en',
    sellerCountries: ['GB'],
    buyerCountries: ['GB', 'GB', 'GB', 'NL', 'DE', 'FR'],
    numberShape: 'year/3',
    noTaxShare: 0.1,
  },
  render(inv) {
    const money = (cents: number) => formatMoney(cents, inv.currency, 'symbol');
    const date = (iso: string) => formatDate(iso, '14/03/2026');
    const { seller, buyer } = inv;
    const tax = taxLabel(inv, (rate) => `VAT ${percent(rate, 'en')}`);
    const css = `
.page { padding: 16mm 22mm; font: 11px/1.55 'DejaVu Sans Mono', monospace; }
.seller b { font-size: 15px; }
.title { font-size: 20px; font-weight: bold; margin: 8mm 0 2mm; border-bottom: 2px solid #111; }
.kv td { padding: 1px 16px 1px 0; }
.label { font-weight: bold; margin-top: 6mm; }
.items { width: 100%; margin-top: 8mm; }
.items th { text-align: left; border-top: 1px dashed #111; border-bottom: 1px dashed #111; padding: 4px 6px 4px 0; }
.items td { padding: 3px 6px 3px 0; }
.items tr:last-child td { border-bottom: 1px dashed #111; padding-bottom: 6px; }
.items th.num { text-align: right; }
.totals { margin-top: 4mm; }
.totals td { padding: 1px 24px 1px 0; }
.totals .total td { font-weight: bold; font-size: 13px; }
.pay { margin-top: 10mm; padding: 3mm 4mm; border: 1px solid #111; }
footer { position: absolute; left: 22mm; right: 22mm; bottom: 12mm; font-size: 10px; color: #333; }`;
    const due = inv.dueDate;
    const account = inv.bankAccount;
    // A UK IBAN holds the sort code and account number: GBkk BANK SSSSSS AAAAAAAA.
    const payment =
      account?.iban &&
      lines(
        'Please pay by bank transfer to:',
        `Account name: ${seller.name}`,
        `Bank: ${account.bank}`,
        `Sort code: ${account.iban.slice(8, 14).replace(/(\d\d)(?=\d)/g, '$1-')}` +
          ` · Account no.: ${account.iban.slice(14)}`,
        `IBAN: ${groupedIban(account.iban)} · BIC: ${account.bic}`,
      );
    const body = `
<div class="seller"><b>${esc(seller.name)}</b><br>${lines(
      seller.street,
      seller.cityLine,
      `Tel: ${seller.phone}`,
      seller.email,
    )}</div>
<div class="title">INVOICE</div>
<table class="kv">
  <tr><td>Invoice number:</td><td>${esc(inv.number)}</td></tr>
  <tr><td>Issue date:</td><td>${date(inv.issueDate)}</td></tr>
  ${due === null ? '' : `<tr><td>Due date:</td><td>${date(due)}</td></tr>`}
  <tr><td>Customer ref:</td><td>${esc(inv.customerNumber)}</td></tr>
</table>
<div class="label">Customer</div>
<div>${lines(buyer.name, buyer.contact && `FAO ${buyer.contact}`, ...addressLines(buyer, 'en', seller.country))}</div>
<table class="items">
  <tr><th>Description</th><th class="num">Qty</th><th class="num">Price</th><th class="num">Net</th></tr>
  ${inv.items
    .map(
      (it) =>
        `<tr><td>${esc(it.description)}</td><td class="num">${it.quantity}</td>` +
        `<td class="num">${money(it.unitCents)}</td><td class="num">${money(it.amountCents)}</td></tr>`,
    )
    .join('')}
</table>
<table class="totals">
  <tr><td>Subtotal</td><td class="num">${money(inv.subtotalCents)}</td></tr>
  ${tax === null ? '' : tableRow(tax, money(inv.taxCents!))}
  <tr class="total"><td>Total due</td><td class="num">${money(inv.totalCents)}</td></tr>
</table>
${payment ? `<div class="pay">${payment}</div>` : '<p>Paid by card. Thank you.</p>'}
<footer>${lines(seller.vatId && `VAT Reg. No. ${seller.vatId}`, seller.register)}</footer>`;
    return page('en', css, body);
  },
};

// ---------------------------------------------------------------------------------------------------------------
// t5 (test): minimal modern invoice, title top-left, From | Bill to columns, meta strip

const t5: Template = {
  id: 't5',
  split: 'test',
  language: 'en',
  description:
    'minimal: big "Invoice" + number top-left, round logo + name top-right, "From" | "Bill to" columns, a strip of ' +
    'four meta cells, light table, "Amount due" total, "Payment details"; DejaVu Serif Condensed 12 px; ISO dates; ' +
    '"USD 1,234.56" / "CHF 1\'234.50"',
  profile: {
    language: 'en',
    sellerCountries: ['NL', 'CH', 'GB', 'US', 'PL'],
    buyerCountries: ['NL', 'DE', 'FR', 'GB', 'US', 'TR', 'PL', 'IT'],
    numberShape: 'A-6',
    noTaxShare: 0.2,
  },
  render(inv) {
    const money = (cents: number) => formatMoney(cents, inv.currency, 'code');
    const date = (iso: string) => formatDate(iso, '2026-03-14');
    const { seller, buyer } = inv;
    const tax = taxLabel(inv, (rate) => `Tax ${percent(rate, 'en')}`);
    const css = `
.page { padding: 20mm 20mm; font: 12px/1.5 'DejaVu Serif Condensed', 'DejaVu Serif', serif; font-stretch: condensed; }
header { display: flex; justify-content: space-between; align-items: flex-start; }
.title { font-size: 34px; font-weight: bold; line-height: 1; }
.no { color: #555; margin-top: 2mm; font-size: 13px; }
.brand { display: flex; align-items: center; gap: 8px; font-weight: bold; font-size: 14px; }
.logo { width: 40px; height: 40px; border-radius: 50%; border: 2px solid #333; display: flex; align-items: center;
  justify-content: center; font-size: 14px; }
.cols { display: flex; gap: 12mm; margin-top: 12mm; }
.cols > div { flex: 1; }
h4 { margin: 0 0 3px; font-size: 11px; color: #777; font-weight: normal; letter-spacing: 1px; }
.strip { display: flex; margin-top: 10mm; border-top: 1px solid #bbb; border-bottom: 1px solid #bbb; }
.strip > div { flex: 1; padding: 3mm 0; }
.strip b { display: block; }
.items { width: 100%; margin-top: 10mm; }
.items th { font-size: 10px; color: #777; font-weight: normal; text-align: left; padding: 4px 0; }
.items th.num { text-align: right; }
.items td { padding: 5px 0; border-top: 1px solid #eee; }
.sum { margin: 6mm 0 0 auto; width: 80mm; }
.sum div { display: flex; justify-content: space-between; padding: 2px 0; }
.sum .due { font-size: 15px; font-weight: bold; border-top: 2px solid #111; margin-top: 4px; padding-top: 6px; }
.payment { margin-top: 14mm; }
footer { position: absolute; left: 20mm; right: 20mm; bottom: 12mm; color: #777; font-size: 10px;
  display: flex; justify-content: space-between; }`;
    const due = inv.dueDate;
    const account = inv.bankAccount;
    const body = `
<header>
  <div><div class="title">Invoice</div><div class="no">${esc(inv.number)}</div></div>
  <div class="brand"><div class="logo">${esc(initials(seller.name))}</div>${esc(seller.name)}</div>
</header>
<div class="cols">
  <div><h4>From</h4>${lines(
    seller.name,
    ...addressLines(seller, 'en', null),
    seller.email,
    seller.vatId && `VAT ID: ${seller.vatId}`,
  )}</div>
  <div><h4>Bill to</h4>${lines(
    buyer.name,
    buyer.contact,
    ...addressLines(buyer, 'en', null),
    buyer.vatId && `VAT ID: ${buyer.vatId}`,
  )}</div>
</div>
<div class="strip">
  <div>Invoice number<b>${esc(inv.number)}</b></div>
  <div>Issue date<b>${date(inv.issueDate)}</b></div>
  <div>Due date<b>${due === null ? '—' : date(due)}</b></div>
  <div>Currency<b>${inv.currency}</b></div>
</div>
<table class="items">
  <tr><th>Item</th><th class="num">Quantity</th><th class="num">Unit price</th><th class="num">Total</th></tr>
  ${inv.items
    .map(
      (it) =>
        `<tr><td>${esc(it.description)}</td><td class="num">${it.quantity}</td>` +
        `<td class="num">${money(it.unitCents)}</td><td class="num">${money(it.amountCents)}</td></tr>`,
    )
    .join('')}
</table>
<div class="sum">
  <div><span>Subtotal</span><span>${money(inv.subtotalCents)}</span></div>
  ${tax === null ? '' : boxRow(tax, money(inv.taxCents!))}
  <div class="due"><span>Amount due</span><span>${money(inv.totalCents)}</span></div>
</div>
<div class="payment"><h4>Payment details</h4>${
      account === null
        ? 'Paid online.'
        : account.iban === null
          ? lines(account.bank, `ABA routing ${account.routing}`, `Account ${account.account}`)
          : lines(account.bank, `IBAN ${groupedIban(account.iban)}`, `BIC/SWIFT ${account.bic}`)
    }</div>
<footer><span>${esc(seller.website)}</span><span>${esc(seller.phone)}</span></footer>`;
    return page('en', css, body);
  },
};

// ---------------------------------------------------------------------------------------------------------------
// t6 (test): German invoice with a centred letterhead, a bordered facts box and a totals box

const t6: Template = {
  id: 't6',
  split: 'test',
  language: 'de',
  description:
    'German, centred letterhead over a double rule, "Rechnung an" left and bordered facts box right ("Rechnung Nr.", ' +
    '"Datum", "Zahlbar bis"), full-grid table, boxed totals ("Nettobetrag", "zzgl. MwSt."), one-line footer; ' +
    'DejaVu Sans 10 px; "14. März 2026"; "1.234,56 €" / "CHF 1\'234.50"',
  profile: {
    language: 'de',
    sellerCountries: ['DE', 'AT', 'CH', 'DE', 'AT'],
    buyerCountries: ['DE', 'AT', 'CH', 'NL'],
    numberShape: 'year/3',
    noTaxShare: 0.1,
  },
  render(inv) {
    const money = (cents: number) => formatMoney(cents, inv.currency, 'de');
    const date = (iso: string) => formatDate(iso, '14. März 2026');
    const { seller, buyer } = inv;
    const tax = taxLabel(inv, (rate) => `zzgl. MwSt. ${percent(rate, 'de')}`);
    const css = `
.page { padding: 14mm 18mm; font: 10px/1.5 'DejaVu Sans', sans-serif; }
header { text-align: center; border-bottom: 3px double #333; padding-bottom: 4mm; }
header .firm { font-size: 20px; letter-spacing: 2px; }
.row { display: flex; justify-content: space-between; align-items: flex-start; margin-top: 10mm; }
.label { font-weight: bold; margin-bottom: 2px; }
.facts { border: 1px solid #333; }
.facts td { padding: 3px 8px; border-bottom: 1px solid #ccc; }
.facts td:first-child { background: #f2f2f2; }
h1 { font-size: 18px; letter-spacing: 3px; margin: 10mm 0 4mm; }
.items { width: 100%; }
.items th, .items td { border: 1px solid #444; padding: 4px 5px; }
.items th { text-align: left; }
.items th.num { text-align: right; }
.totals { margin: 5mm 0 0 auto; border: 1.5px solid #333; width: 70mm; }
.totals td { padding: 3px 8px; }
.totals .total td { background: #e6e6e6; font-weight: bold; font-size: 12px; }
.terms { margin-top: 8mm; }
footer { position: absolute; left: 18mm; right: 18mm; bottom: 12mm; border-top: 1px solid #333; padding-top: 4px;
  font-size: 9px; text-align: center; color: #333; }`;
    const due = inv.dueDate;
    const account = inv.bankAccount;
    const vatLabel = seller.country === 'CH' ? 'MWST-Nr.' : 'USt-IdNr.';
    const body = `
<header><div class="firm">${esc(seller.name)}</div>${esc(
      [seller.street, seller.cityLine, seller.phone, seller.website].join(' | '),
    )}</header>
<div class="row">
  <div><div class="label">Rechnung an</div>${lines(
    buyer.name,
    buyer.contact && `z. Hd. ${buyer.contact}`,
    ...addressLines(buyer, 'de', seller.country),
  )}</div>
  <table class="facts">
    <tr><td>Rechnung Nr.</td><td>${esc(inv.number)}</td></tr>
    <tr><td>Datum</td><td>${date(inv.issueDate)}</td></tr>
    ${due === null ? '' : `<tr><td>Zahlbar bis</td><td>${date(due)}</td></tr>`}
    <tr><td>Kunden-Nr.</td><td>${esc(inv.customerNumber)}</td></tr>
    <tr><td>Bestell-Nr.</td><td>${esc(inv.orderNumber)}</td></tr>
  </table>
</div>
<h1>RECHNUNG</h1>
<table class="items">
  <tr><th>Pos.</th><th>Bezeichnung</th><th class="num">Anzahl</th><th class="num">Preis</th>
    <th class="num">Betrag</th></tr>
  ${inv.items
    .map(
      (it, i) =>
        `<tr><td>${String(i + 1).padStart(2, '0')}</td><td>${esc(it.description)}</td>` +
        `<td class="num">${it.quantity}</td><td class="num">${money(it.unitCents)}</td>` +
        `<td class="num">${money(it.amountCents)}</td></tr>`,
    )
    .join('')}
</table>
<table class="totals">
  <tr><td>Nettobetrag</td><td class="num">${money(inv.subtotalCents)}</td></tr>
  ${tax === null ? '' : tableRow(tax, money(inv.taxCents!))}
  <tr class="total"><td>Gesamtbetrag</td><td class="num">${money(inv.totalCents)}</td></tr>
</table>
<p class="terms">${
      due === null ? 'Der Betrag ist sofort fällig.' : `Zahlungsziel: ${termDays(inv, due)} Tage ohne Abzug.`
    }${inv.taxRate === null ? ' Steuerfreie Leistung.' : ''}</p>
<footer>${esc(
      [
        seller.name,
        account?.iban ? `${account.bank} · IBAN ${groupedIban(account.iban)} · BIC ${account.bic}` : null,
        seller.vatId && `${vatLabel} ${seller.vatId}`,
        `Geschäftsführung: ${seller.director}`,
      ]
        .filter(Boolean)
        .join(' | '),
    )}</footer>`;
    return page('de', css, body);
  },
};

// ---------------------------------------------------------------------------------------------------------------
// t7 (test): monospaced, upper-case labels, seller left and invoice facts right, ASCII-style rules

const t7: Template = {
  id: 't7',
  split: 'test',
  language: 'en',
  description:
    'system print-out: "SELLER" block left and INVOICE facts right, "CUSTOMER" block, upper-case labels, ' +
    'double-rule table, "TOTAL DUE", "REMIT TO" block; DejaVu Sans Mono 12 px; "Mar 14, 2026"; ' +
    '"$1,234.56" / "€1,234.56"',
  profile: {
    language: 'en',
    sellerCountries: ['US', 'NL', 'US', 'FR', 'DE'],
    buyerCountries: ['US', 'GB', 'NL', 'DE', 'ES', 'TR'],
    numberShape: 'INV-year-4',
    noTaxShare: 0.25,
  },
  render(inv) {
    const money = (cents: number) => formatMoney(cents, inv.currency, 'symbol');
    const date = (iso: string) => formatDate(iso, 'Mar 14, 2026');
    const { seller, buyer } = inv;
    const tax = taxLabel(inv, (rate) => `TAX ${percent(rate, 'en')}`);
    const css = `
.page { padding: 18mm 16mm; font: 12px/1.5 'DejaVu Sans Mono', monospace; }
.hdr { display: flex; justify-content: space-between; }
.label { color: #555; }
.facts .big { font-size: 24px; font-weight: bold; text-align: right; margin-bottom: 2mm; }
.facts td { padding: 0 0 0 12px; }
.facts td:first-child { color: #555; padding-left: 0; }
.customer { margin-top: 8mm; }
.items { width: 100%; margin-top: 8mm; border-top: 3px double #111; border-bottom: 3px double #111; }
.items th { text-align: left; border-bottom: 1px solid #111; padding: 3px 8px 3px 0; }
.items td { padding: 3px 8px 3px 0; }
.items th.num { text-align: right; }
.items tr > :first-child { padding-right: 20px; }
.totals { margin: 4mm 0 0 auto; }
.totals td { padding: 1px 0 1px 24px; }
.totals .total td { font-weight: bold; border-top: 1px solid #111; }
.remit { margin-top: 10mm; }
footer { position: absolute; left: 16mm; right: 16mm; bottom: 12mm; font-size: 10px; }`;
    const due = inv.dueDate;
    const account = inv.bankAccount;
    const body = `
<div class="hdr">
  <div><div class="label">SELLER</div>${lines(
    seller.name,
    ...addressLines(seller, 'en', null),
    `TEL ${seller.phone}`,
  )}</div>
  <div class="facts"><div class="big">INVOICE</div><table>
    <tr><td>INVOICE #</td><td>${esc(inv.number)}</td></tr>
    <tr><td>DATE</td><td>${date(inv.issueDate)}</td></tr>
    ${due === null ? '' : `<tr><td>DUE DATE</td><td>${date(due)}</td></tr>`}
    <tr><td>ACCOUNT</td><td>${esc(inv.customerNumber)}</td></tr>
  </table></div>
</div>
<div class="customer"><div class="label">CUSTOMER</div>${lines(
      buyer.name,
      buyer.contact && `ATTN ${buyer.contact}`,
      ...addressLines(buyer, 'en', seller.country),
    )}</div>
<table class="items">
  <tr><th class="num">QTY</th><th>DESCRIPTION</th><th class="num">UNIT</th><th class="num">AMOUNT</th></tr>
  ${inv.items
    .map(
      (it) =>
        `<tr><td class="num">${it.quantity}</td><td>${esc(it.description)}</td>` +
        `<td class="num">${money(it.unitCents)}</td><td class="num">${money(it.amountCents)}</td></tr>`,
    )
    .join('')}
</table>
<table class="totals">
  <tr><td>SUBTOTAL</td><td class="num">${money(inv.subtotalCents)}</td></tr>
  ${tax === null ? '' : tableRow(tax, money(inv.taxCents!))}
  <tr class="total"><td>TOTAL DUE</td><td class="num">${money(inv.totalCents)}</td></tr>
</table>
<div class="remit"><div class="label">REMIT TO</div>${
      account === null
        ? 'CREDIT CARD ON FILE'
        : account.iban === null
          ? lines(account.bank, `ROUTING ${account.routing}  ACCOUNT ${account.account}`)
          : lines(account.bank, `IBAN ${groupedIban(account.iban)}`, `BIC ${account.bic}`)
    }</div>
<footer>${lines(seller.vatId && `VAT REG. NO. ${seller.vatId}`, `${seller.email}  ${seller.website}`)}</footer>`;
    return page('en', css, body);
  },
};

// ---------------------------------------------------------------------------------------------------------------
// t8 (test): shaded sidebar with the invoice facts and customer, main column with seller and items

const t8: Template = {
  id: 't8',
  split: 'test',
  language: 'en',
  description:
    'sidebar: shaded left column with "Invoice", facts, "Customer" and "Total due"; main column with logo, ' +
    'seller top-right, table, boxed totals; footer with IBAN and "VAT Reg. No."; DejaVu Serif 13 px with light ' +
    'DejaVu Sans headings; "14 March 2026"; "CHF 1\'234.50" / "€ 1.234,56"',
  profile: {
    language: 'en',
    sellerCountries: ['CH', 'NL', 'IT', 'CH', 'ES'],
    buyerCountries: ['DE', 'CH', 'FR', 'GB', 'IT', 'US', 'PL'],
    numberShape: 'year-5',
    noTaxShare: 0.1,
  },
  render(inv) {
    const money = (cents: number) => formatMoney(cents, inv.currency, 'nl');
    const date = (iso: string) => formatDate(iso, '14 March 2026');
    const { seller, buyer } = inv;
    const tax = taxLabel(inv, (rate) => `Tax ${percent(rate, 'en')}`);
    const css = `
.page { display: flex; font: 13px/1.45 'DejaVu Serif', serif; }
aside { width: 64mm; background: #ececec; padding: 18mm 7mm 0 10mm; }
aside .title { font: 200 30px 'DejaVu Sans', sans-serif; margin-bottom: 8mm; }
aside .k { font: 200 11px 'DejaVu Sans', sans-serif; margin-top: 3mm; }
aside .v { font-weight: bold; }
aside .customer { margin-top: 10mm; }
aside .amount { margin-top: 12mm; border-top: 2px solid #333; padding-top: 3mm; }
aside .amount .v { font-size: 17px; }
main { flex: 1; padding: 18mm 14mm 0 10mm; position: relative; }
.head { display: flex; justify-content: space-between; align-items: flex-start; }
.logo { width: 44px; height: 44px; background: #333; color: #fff; font: bold 17px 'DejaVu Sans', sans-serif;
  display: flex; align-items: center; justify-content: center; }
.seller { text-align: right; font-size: 12px; }
.seller b { font-size: 15px; }
.items { width: 100%; margin-top: 18mm; font-size: 12px; }
.items th { font: 200 11px 'DejaVu Sans', sans-serif; text-align: left; border-bottom: 1px solid #333;
  padding: 4px 3px; }
.items th.num { text-align: right; }
.items td { padding: 5px 3px; border-bottom: 1px dotted #999; }
.box { margin: 8mm 0 0 auto; width: 78mm; border: 2px solid #333; padding: 3mm 4mm; }
.box div { display: flex; justify-content: space-between; }
.box .total { font-weight: bold; margin-top: 2mm; }
.note { margin-top: 10mm; font-size: 12px; }
footer { position: absolute; left: 10mm; right: 14mm; bottom: 12mm; font-size: 10px; border-top: 1px solid #999;
  padding-top: 4px; }`;
    const due = inv.dueDate;
    const account = inv.bankAccount;
    const body = `
<aside>
  <div class="title">Invoice</div>
  <div class="k">Invoice no.</div><div class="v">${esc(inv.number)}</div>
  <div class="k">Invoice date</div><div class="v">${date(inv.issueDate)}</div>
  ${due === null ? '' : `<div class="k">Payment due</div><div class="v">${date(due)}</div>`}
  <div class="k">Customer no.</div><div class="v">${esc(inv.customerNumber)}</div>
  <div class="customer"><div class="k">Customer</div>${lines(
    buyer.name,
    buyer.contact,
    ...addressLines(buyer, 'en', null),
    buyer.vatId && `VAT no. ${buyer.vatId}`,
  )}</div>
  <div class="amount"><div class="k">Total due</div><div class="v">${money(inv.totalCents)}</div></div>
</aside>
<main>
  <div class="head"><div class="logo">${esc(initials(seller.name))}</div>
    <div class="seller"><b>${esc(seller.name)}</b><br>${lines(...addressLines(seller, 'en', null), seller.email)}</div>
  </div>
  <table class="items">
    <tr><th>Description</th><th class="num">Qty</th><th class="num">Unit price</th><th class="num">Amount</th></tr>
    ${inv.items
      .map(
        (it) =>
          `<tr><td>${esc(it.description)}</td><td class="num">${it.quantity}</td>` +
          `<td class="num">${money(it.unitCents)}</td><td class="num">${money(it.amountCents)}</td></tr>`,
      )
      .join('')}
  </table>
  <div class="box">
    <div><span>Subtotal</span><span>${money(inv.subtotalCents)}</span></div>
    ${tax === null ? '' : boxRow(tax, money(inv.taxCents!))}
    <div class="total"><span>Total</span><span>${money(inv.totalCents)}</span></div>
  </div>
  <p class="note">${
    due === null ? 'Payable on receipt.' : `Please pay within ${termDays(inv, due)} days of the invoice date.`
  }</p>
  <footer>${lines(
    account?.iban && `${account.bank} · IBAN ${groupedIban(account.iban)} · BIC ${account.bic}`,
    [seller.vatId && `VAT Reg. No. ${seller.vatId}`, seller.phone, seller.website].filter(Boolean).join(' · '),
  )}</footer>
</main>`;
    return page('en', css, body);
  },
};

export const TEMPLATES: readonly Template[] = [t1, t2, t3, t4, t5, t6, t7, t8];
