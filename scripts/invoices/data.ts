/**
 * Seeded random invoice records for the synthetic invoice set (./generate.ts renders them with ./templates.ts).
 *
 * Everything here is drawn from a mulberry32 PRNG seeded per invoice, so a record depends only on its id and its
 * template's profile. Parties come from eleven countries with local names, legal forms, streets, postcodes and
 * phone numbers; IBANs carry valid ISO 13616 check digits; VAT ids follow each country's shape (the French key
 * is computed, the rest are random digits). Amounts are integer cents: line = quantity × unit price, tax =
 * subtotal × rate rounded to the cent, total = subtotal + tax.
 */

// ---------------------------------------------------------------------------------------------------------------
// Random numbers

/** mulberry32: a small, fast 32-bit PRNG; the same seed gives the same sequence everywhere. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A 32-bit seed from a text, so each invoice id gets its own stream: FNV-1a, then MurmurHash3's finalizer, since
 * ids that differ in one character would otherwise give seeds whose first draws are alike.
 */
export function seedFrom(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [lo, hi]. */
  int(lo: number, hi: number): number;
  pick<T>(items: readonly T[]): T;
  chance(p: number): boolean;
  /** `n` random decimal digits (the first one non-zero when `leadingNonZero`). */
  digits(n: number, leadingNonZero?: boolean): string;
}

export function makeRng(seed: number): Rng {
  const next = mulberry32(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  return {
    next,
    int,
    pick: (items) => items[int(0, items.length - 1)]!,
    chance: (p) => next() < p,
    digits: (n, leadingNonZero = false) =>
      Array.from({ length: n }, (_, i) => String(i === 0 && leadingNonZero ? int(1, 9) : int(0, 9))).join(''),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// IBAN and VAT ids

/** ISO 7064 mod 97 of an alphanumeric string, letters counting as 10 (A) … 35 (Z). */
function mod97(text: string): number {
  let rest = 0;
  for (const ch of text) {
    const value = Number.parseInt(ch, 36);
    rest = (value >= 10 ? rest * 100 + value : rest * 10 + value) % 97;
  }
  return rest;
}

/** An IBAN (electronic form, no spaces) from a country code and BBAN, with its ISO 13616 check digits. */
function makeIban(country: string, bban: string): string {
  const check = 98 - mod97(bban + country + '00');
  return country + String(check).padStart(2, '0') + bban;
}

/** The French VAT key: (12 + 3 × (SIREN mod 97)) mod 97, two digits. */
function frenchVatId(siren: string): string {
  return 'FR' + String((12 + 3 * (Number(siren) % 97)) % 97).padStart(2, '0') + siren;
}

// ---------------------------------------------------------------------------------------------------------------
// Countries

export type Language = 'en' | 'de' | 'fr' | 'es' | 'it' | 'nl' | 'pl' | 'tr';
export type CountryCode = 'GB' | 'US' | 'DE' | 'AT' | 'CH' | 'FR' | 'ES' | 'IT' | 'NL' | 'PL' | 'TR';
export type Currency = 'EUR' | 'USD' | 'GBP' | 'CHF';

interface Bank {
  name: string;
  bic: string;
  /** The bank's part of the BBAN (bank code, sort code prefix, ABI …), or a US routing number. */
  code: string;
}

interface Country {
  name: { en: string; de: string };
  language: Language;
  currency: Currency;
  /** Phone number pattern, `#` = a random digit. */
  phone: string;
  streets: readonly string[];
  /** Postcode and city as the country writes them. */
  cityLines: readonly string[];
  /** The street line from a street name and house number. */
  streetLine: (street: string, houseNumber: number) => string;
  legalForms: readonly ((word: string, surname: string, surname2: string) => string)[];
  banks: readonly Bank[];
  /** The BBAN after the bank code; undefined where the country has no IBAN (US). */
  bbanRest?: (rng: Rng) => string;
  /** A VAT id as printed; undefined where the country has none on our invoices. */
  vatId?: (rng: Rng) => string;
  /** A company register entry as printed in footers, or undefined. */
  register?: (rng: Rng, city: string) => string;
  /** Tax rates (percent) a seller from here charges, from the set 0/7/10/19/20 (not every country's real rates). */
  taxRates: readonly number[];
  /** Top-level domain for e-mail addresses and web sites. */
  tld: string;
}

const numberAfter = (street: string, n: number) => `${street} ${n}`;
const numberAfterComma = (street: string, n: number) => `${street}, ${n}`;
const numberBefore = (street: string, n: number) => `${n} ${street}`;

export const COUNTRIES: Record<CountryCode, Country> = {
  GB: {
    name: { en: 'United Kingdom', de: 'Vereinigtes Königreich' },
    language: 'en',
    currency: 'GBP',
    phone: '+44 20 #### ####',
    streets: ['Baker Street', 'High Street', 'Station Road', 'Church Lane', 'Victoria Road', 'Queen Street'],
    cityLines: ['London NW1 6XE', 'Manchester M1 1AE', 'Bristol BS1 4DJ', 'Leeds LS1 5AB', 'Edinburgh EH1 1YZ'],
    streetLine: numberBefore,
    legalForms: [
      (w) => `${w} Consulting Ltd`,
      (_, s, s2) => `${s} & ${s2} Ltd`,
      (w) => `${w} Trading Ltd`,
      (w) => `${w} Holdings PLC`,
    ],
    banks: [
      { name: 'NatWest', bic: 'NWBKGB2L', code: 'NWBK' },
      { name: 'Barclays Bank', bic: 'BARCGB22', code: 'BARC' },
      { name: 'HSBC UK', bic: 'HBUKGB4B', code: 'HBUK' },
    ],
    bbanRest: (rng) => rng.digits(6) + rng.digits(8),
    vatId: (rng) => {
      const d = rng.digits(9, true);
      return `GB ${d.slice(0, 3)} ${d.slice(3, 7)} ${d.slice(7)}`;
    },
    register: (rng) => `Registered in England and Wales, Company No. ${rng.digits(8)}`,
    taxRates: [20, 20, 0],
    tld: 'co.uk',
  },
  US: {
    name: { en: 'United States', de: 'USA' },
    language: 'en',
    currency: 'USD',
    phone: '+1 (212) 555-####',
    streets: ['Main Street', 'Oak Avenue', 'Market Street', 'Elm Street', 'Broadway', 'Sunset Boulevard'],
    cityLines: ['New York, NY 10001', 'Austin, TX 78701', 'Chicago, IL 60601', 'Seattle, WA 98101', 'Boston, MA 02108'],
    streetLine: numberBefore,
    legalForms: [
      (w) => `${w} Solutions Inc.`,
      (_, s, s2) => `${s} & ${s2} LLC`,
      (w) => `${w} Labs LLC`,
      (w) => `${w} Corporation`,
    ],
    banks: [
      { name: 'JPMorgan Chase Bank', bic: 'CHASUS33', code: '021000021' },
      { name: 'Bank of America', bic: 'BOFAUS3N', code: '026009593' },
      { name: 'Wells Fargo Bank', bic: 'WFBIUS6S', code: '121000248' },
    ],
    taxRates: [7, 10, 0],
    tld: 'com',
  },
  DE: {
    name: { en: 'Germany', de: 'Deutschland' },
    language: 'de',
    currency: 'EUR',
    phone: '+49 30 ### ####',
    streets: ['Hauptstraße', 'Bahnhofstraße', 'Goethestraße', 'Lindenallee', 'Schillerplatz', 'Industriestraße'],
    cityLines: ['10115 Berlin', '80331 München', '50667 Köln', '20095 Hamburg', '60311 Frankfurt am Main'],
    streetLine: numberAfter,
    legalForms: [
      (_, s) => `${s} & Söhne GmbH`,
      (_, s) => `${s} Metallbau GmbH`,
      (w) => `${w} Software AG`,
      (w) => `${w} Logistik GmbH`,
    ],
    banks: [
      { name: 'Deutsche Bank', bic: 'DEUTDEFFXXX', code: '50070010' },
      { name: 'Commerzbank', bic: 'COBADEFFXXX', code: '37040044' },
      { name: 'Sparkasse KölnBonn', bic: 'COLSDE33XXX', code: '37050198' },
    ],
    bbanRest: (rng) => rng.digits(10),
    vatId: (rng) => `DE${rng.digits(9, true)}`,
    register: (rng, city) => `Amtsgericht ${city}, HRB ${rng.digits(5, true)}`,
    taxRates: [19, 19, 7],
    tld: 'de',
  },
  AT: {
    name: { en: 'Austria', de: 'Österreich' },
    language: 'de',
    currency: 'EUR',
    phone: '+43 1 ### ## ##',
    streets: ['Mariahilfer Straße', 'Landstraße', 'Herrengasse', 'Kärntner Straße'],
    cityLines: ['1010 Wien', '8010 Graz', '4020 Linz', '5020 Salzburg', '6020 Innsbruck'],
    streetLine: numberAfter,
    legalForms: [(_, s) => `${s} Bau GmbH`, (w) => `${w} Handels GmbH`, (w) => `${w} AG`],
    banks: [
      { name: 'Erste Bank', bic: 'GIBAATWWXXX', code: '20111' },
      { name: 'Raiffeisen Bank', bic: 'RZBAATWWXXX', code: '31000' },
    ],
    bbanRest: (rng) => rng.digits(11),
    vatId: (rng) => `ATU${rng.digits(8, true)}`,
    register: (rng) => `FN ${rng.digits(6, true)}${rng.pick(['a', 'b', 'k', 'p'])}`,
    taxRates: [20, 10],
    tld: 'at',
  },
  CH: {
    name: { en: 'Switzerland', de: 'Schweiz' },
    language: 'de',
    currency: 'CHF',
    phone: '+41 44 ### ## ##',
    streets: ['Bahnhofstrasse', 'Seestrasse', 'Dorfstrasse', 'Marktgasse'],
    cityLines: ['8001 Zürich', '3011 Bern', '4051 Basel', '6003 Luzern', '9000 St. Gallen'],
    streetLine: numberAfter,
    legalForms: [(_, s) => `${s} Treuhand AG`, (w) => `${w} Informatik GmbH`, (w) => `${w} AG`],
    banks: [
      { name: 'UBS Switzerland', bic: 'UBSWCHZH80A', code: '00230' },
      { name: 'Zürcher Kantonalbank', bic: 'ZKBKCHZZ80A', code: '00700' },
    ],
    bbanRest: (rng) => rng.digits(12),
    vatId: (rng) => {
      const d = rng.digits(9, true);
      return `CHE-${d.slice(0, 3)}.${d.slice(3, 6)}.${d.slice(6)} MWST`;
    },
    taxRates: [7, 0],
    tld: 'ch',
  },
  FR: {
    name: { en: 'France', de: 'Frankreich' },
    language: 'fr',
    currency: 'EUR',
    phone: '+33 1 ## ## ## ##',
    streets: ['rue de la Paix', 'avenue Victor Hugo', 'boulevard Haussmann', 'place Bellecour', 'rue Nationale'],
    cityLines: ['75002 Paris', '69002 Lyon', '13001 Marseille', '31000 Toulouse', '33000 Bordeaux'],
    streetLine: numberBefore,
    legalForms: [(_, s) => `${s} et Fils SAS`, (_, s) => `Atelier ${s} SARL`, (w) => `${w} Conseil SAS`],
    banks: [
      { name: 'BNP Paribas', bic: 'BNPAFRPPXXX', code: '30004' },
      { name: 'Société Générale', bic: 'SOGEFRPPXXX', code: '30003' },
      { name: 'Crédit Agricole', bic: 'AGRIFRPPXXX', code: '18206' },
    ],
    bbanRest: (rng) => rng.digits(5) + rng.digits(11) + rng.digits(2),
    vatId: (rng) => frenchVatId(rng.digits(9, true)),
    register: (rng, city) => `RCS ${city} ${rng.digits(3, true)} ${rng.digits(3)} ${rng.digits(3)}`,
    taxRates: [20, 10],
    tld: 'fr',
  },
  ES: {
    name: { en: 'Spain', de: 'Spanien' },
    language: 'es',
    currency: 'EUR',
    phone: '+34 91 ### ## ##',
    streets: ['Calle Mayor', 'Avenida de la Constitución', 'Calle de Alcalá', 'Paseo de Gracia', 'Calle Larios'],
    cityLines: ['28013 Madrid', '08007 Barcelona', '41001 Sevilla', '46002 Valencia', '29005 Málaga'],
    streetLine: numberAfterComma,
    legalForms: [(_, s) => `Distribuciones ${s} S.L.`, (w) => `${w} Ibérica S.A.`, (_, s) => `Talleres ${s} S.L.`],
    banks: [
      { name: 'CaixaBank', bic: 'CAIXESBBXXX', code: '2100' },
      { name: 'Banco Santander', bic: 'BSCHESMMXXX', code: '0049' },
      { name: 'BBVA', bic: 'BBVAESMMXXX', code: '0182' },
    ],
    bbanRest: (rng) => rng.digits(4) + rng.digits(2) + rng.digits(10),
    vatId: (rng) => `ES${rng.pick(['A', 'B', 'X'])}${rng.digits(7)}${rng.pick(['J', 'K', 'L', 'Q', 'W', 'Z'])}`,
    taxRates: [10, 20],
    tld: 'es',
  },
  IT: {
    name: { en: 'Italy', de: 'Italien' },
    language: 'it',
    currency: 'EUR',
    phone: '+39 06 #### ####',
    streets: ['Via Roma', 'Corso Vittorio Emanuele II', 'Via Garibaldi', 'Piazza del Duomo', 'Via Dante'],
    cityLines: ['00184 Roma', '20121 Milano', '10121 Torino', '50123 Firenze', '40121 Bologna'],
    streetLine: numberAfterComma,
    legalForms: [(_, s) => `${s} & Figli S.r.l.`, (w) => `${w} Italia S.p.A.`, (_, s) => `Officine ${s} S.r.l.`],
    banks: [
      { name: 'Intesa Sanpaolo', bic: 'BCITITMMXXX', code: '03069' },
      { name: 'UniCredit', bic: 'UNCRITMMXXX', code: '02008' },
    ],
    // The CIN check letter comes before the bank code in an Italian BBAN.
    bbanRest: (rng) => rng.digits(5) + rng.digits(12),
    vatId: (rng) => `IT${rng.digits(11)}`,
    taxRates: [10, 20],
    tld: 'it',
  },
  NL: {
    name: { en: 'Netherlands', de: 'Niederlande' },
    language: 'nl',
    currency: 'EUR',
    phone: '+31 20 ### ####',
    streets: ['Keizersgracht', 'Damrak', 'Coolsingel', 'Oudegracht', 'Lange Voorhout'],
    cityLines: ['1015 CJ Amsterdam', '3011 AD Rotterdam', '3511 AH Utrecht', '2514 EA Den Haag', '5611 AB Eindhoven'],
    streetLine: numberAfter,
    legalForms: [(_, s) => `${s} Techniek B.V.`, (w) => `${w} Groep B.V.`, (_, s) => `${s} & Zonen B.V.`],
    banks: [
      { name: 'ABN AMRO', bic: 'ABNANL2A', code: 'ABNA' },
      { name: 'ING Bank', bic: 'INGBNL2A', code: 'INGB' },
      { name: 'Rabobank', bic: 'RABONL2U', code: 'RABO' },
    ],
    bbanRest: (rng) => rng.digits(10),
    vatId: (rng) => `NL${rng.digits(9, true)}B01`,
    register: (rng) => `KvK ${rng.digits(8, true)}`,
    taxRates: [19, 0],
    tld: 'nl',
  },
  PL: {
    name: { en: 'Poland', de: 'Polen' },
    language: 'pl',
    currency: 'EUR',
    phone: '+48 22 ### ## ##',
    streets: ['ul. Długa', 'ul. Marszałkowska', 'ul. Piotrkowska', 'al. Jerozolimskie', 'ul. Floriańska'],
    cityLines: ['00-238 Warszawa', '90-001 Łódź', '31-019 Kraków', '80-831 Gdańsk', '50-001 Wrocław'],
    streetLine: numberAfter,
    legalForms: [(w) => `${w} Sp. z o.o.`, (_, s) => `${s} i Synowie Sp. z o.o.`, (w) => `Przedsiębiorstwo ${w} S.A.`],
    banks: [
      { name: 'PKO Bank Polski', bic: 'BPKOPLPW', code: '10201026' },
      { name: 'mBank', bic: 'BREXPLPW', code: '11402004' },
    ],
    bbanRest: (rng) => rng.digits(16),
    vatId: (rng) => `PL${rng.digits(10, true)}`,
    taxRates: [20, 0],
    tld: 'pl',
  },
  TR: {
    name: { en: 'Türkiye', de: 'Türkei' },
    language: 'tr',
    currency: 'EUR',
    phone: '+90 212 ### ## ##',
    streets: ['Atatürk Cad.', 'İstiklal Cad.', 'Bağdat Cad.', 'Cumhuriyet Cad.'],
    cityLines: ['34433 İstanbul', '06420 Ankara', '35210 İzmir', '16010 Bursa'],
    streetLine: (street, n) => `${street} No: ${n}`,
    legalForms: [(_, s) => `${s} Tekstil A.Ş.`, (w) => `${w} Gıda Ltd. Şti.`, (w) => `${w} Lojistik A.Ş.`],
    banks: [
      { name: 'Garanti BBVA', bic: 'TGBATRIS', code: '00062' },
      { name: 'Ziraat Bankası', bic: 'TCZBTR2A', code: '00010' },
    ],
    bbanRest: (rng) => '0' + rng.digits(16),
    taxRates: [20],
    tld: 'com.tr',
  },
};

// ---------------------------------------------------------------------------------------------------------------
// Names

interface NamePool {
  first: readonly string[];
  last: readonly string[];
  /** Words that company names are made of. */
  words: readonly string[];
}

const NAMES: Record<Language, NamePool> = {
  en: {
    first: ['James', 'Olivia', 'William', 'Emily', 'George', 'Charlotte', 'Thomas', 'Amelia', 'Daniel', 'Hannah'],
    last: ['Smith', 'Johnson', 'Williams', 'Brown', 'Taylor', 'Wilson', 'Davies', 'Evans', 'Thompson', 'Walker'],
    words: ['Northwind', 'Bluebell', 'Ironbridge', 'Harbourside', 'Kestrel', 'Oakridge', 'Silverline', 'Redwood'],
  },
  de: {
    first: ['Lukas', 'Anna', 'Jürgen', 'Sabine', 'Matthias', 'Katharina', 'Stefan', 'Jörg', 'Ursula', 'Günther'],
    last: ['Müller', 'Schmidt', 'Schneider', 'Fischer', 'Weber', 'Meyer', 'Wagner', 'Schäfer', 'Krüger', 'Weiß'],
    words: ['Nordlicht', 'Alpenblick', 'Rheintal', 'Sonnenhof', 'Eichenwald', 'Bergquell', 'Lindenhof', 'Elbtal'],
  },
  fr: {
    first: ['Camille', 'Louis', 'Chloé', 'Hugo', 'Léa', 'Étienne', 'Manon', 'Théo', 'François', 'Hélène'],
    last: [
      'Martin',
      'Bernard',
      'Dubois',
      'Lefèvre',
      'Moreau',
      'Laurent',
      'Girard',
      'Rousseau',
      'Fontaine',
      'Chevalier',
    ],
    words: ['Lumière', 'Belvédère', 'Horizon', 'Azur', 'Mistral', 'Provence', 'Étoile', 'Vendôme'],
  },
  es: {
    first: ['Lucía', 'Martina', 'Alejandro', 'Sofía', 'Pablo', 'Carmen', 'Javier', 'Inés', 'Álvaro', 'José'],
    last: ['García', 'Fernández', 'González', 'Rodríguez', 'López', 'Martínez', 'Sánchez', 'Pérez', 'Jiménez'],
    words: ['Alhambra', 'Levante', 'Tramontana', 'Guadalquivir', 'Montaña', 'Brisa', 'Mirador', 'Albatros'],
  },
  it: {
    first: ['Giulia', 'Marco', 'Francesca', 'Alessandro', 'Chiara', 'Lorenzo', 'Sara', 'Matteo', 'Niccolò', 'Luca'],
    last: ['Rossi', 'Russo', 'Ferrari', 'Esposito', 'Bianchi', 'Romano', 'Colombo', 'Ricci', 'Marino', 'Greco'],
    words: ['Aurora', 'Dolomiti', 'Laguna', 'Vesuvio', 'Arcobaleno', 'Toscana', 'Adriatica', 'Bellavista'],
  },
  nl: {
    first: ['Daan', 'Sanne', 'Bram', 'Femke', 'Joris', 'Lotte', 'Thijs', 'Anouk', 'Ruben', 'Noor'],
    last: ['de Jong', 'Jansen', 'de Vries', 'van den Berg', 'van Dijk', 'Bakker', 'Visser', 'Smit', 'Meijer', 'Mulder'],
    words: ['Windmolen', 'Polderland', 'Duinzicht', 'Grachtenhuis', 'Oranjeboom', 'Noorderlicht', 'IJsselstroom'],
  },
  pl: {
    first: ['Jakub', 'Zofia', 'Kacper', 'Małgorzata', 'Piotr', 'Agnieszka', 'Łukasz', 'Katarzyna', 'Paweł'],
    last: ['Nowak', 'Wójcik', 'Kowalczyk', 'Mazur', 'Krawczyk', 'Kaczmarek', 'Zając', 'Król', 'Wieczorek', 'Dudek'],
    words: ['Wisła', 'Tatra', 'Bałtyk', 'Mazowsze', 'Jantar', 'Sokół', 'Karpaty', 'Pomorze'],
  },
  tr: {
    first: ['Mehmet', 'Ayşe', 'Mustafa', 'Fatma', 'Emre', 'Zeynep', 'Burak', 'Elif', 'Çağlar', 'Özge'],
    last: ['Yılmaz', 'Kaya', 'Demir', 'Şahin', 'Çelik', 'Yıldız', 'Aydın', 'Öztürk', 'Arslan', 'Doğan'],
    words: ['Anadolu', 'Boğaziçi', 'Marmara', 'Ege', 'Kapadokya', 'Toros', 'Karadeniz', 'Akdeniz'],
  },
};

/** Capitalizes the first letter ("de Jong" → "De Jong" when it starts a company name). */
const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

const LEGAL_FORMS = [
  'GmbH',
  'AG',
  'Ltd',
  'PLC',
  'Inc.',
  'LLC',
  'Corporation',
  'SAS',
  'SARL',
  'S.L.',
  'S.A.',
  'S.r.l.',
  'S.p.A.',
  'B.V.',
  'Sp. z o.o.',
  'A.Ş.',
  'Ltd. Şti.',
];

/** Lower-case ASCII slug for e-mail domains: legal form, accents and punctuation dropped. */
function slug(company: string): string {
  const form = LEGAL_FORMS.find((f) => company.endsWith(` ${f}`));
  return (form === undefined ? company : company.slice(0, -form.length - 1))
    .replace(/ß/g, 'ss')
    .replace(/ı/g, 'i')
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}

// ---------------------------------------------------------------------------------------------------------------
// Invoice records

export interface Party {
  kind: 'company' | 'person';
  /** The company's name with its legal form, or the person's full name. */
  name: string;
  /** A person to address at a company ("Attn: …"), or null. */
  contact: string | null;
  street: string;
  /** Postcode and city (US: city, state and ZIP). */
  cityLine: string;
  country: CountryCode;
  /** VAT id as printed ("GB 123 4567 89", "CHE-123.456.789 MWST"), or null where none is printed. */
  vatId: string | null;
}

export interface Seller extends Party {
  email: string;
  phone: string;
  website: string;
  /** Managing director (printed in German footers). */
  director: string;
  /** Company register entry, or null. */
  register: string | null;
}

export interface BankAccount {
  bank: string;
  bic: string;
  /** Electronic form (no spaces); null for a US account (routing and account number only). */
  iban: string | null;
  /** US only: ABA routing number and account number. */
  routing: string | null;
  account: string | null;
}

export interface LineItem {
  description: string;
  quantity: number;
  unitCents: number;
  amountCents: number;
}

export interface InvoiceRecord {
  id: string;
  number: string;
  /** ISO dates (YYYY-MM-DD). */
  issueDate: string;
  dueDate: string | null;
  seller: Seller;
  buyer: Party;
  currency: Currency;
  items: LineItem[];
  /** Percent; null when the invoice prints no tax line at all. */
  taxRate: number | null;
  subtotalCents: number;
  taxCents: number | null;
  totalCents: number;
  /** Null when the invoice prints no bank details. */
  bankAccount: BankAccount | null;
  /** Distractor numbers that look like ids. */
  customerNumber: string;
  orderNumber: string;
}

/** The invoice number shapes: INV-2026-0042, 2026/117, RE-88213, A-000381, 2026-00381. */
export type NumberShape = 'INV-year-4' | 'year/3' | 'RE-5' | 'A-6' | 'year-5';

/** What a template asks of its records. */
export interface InvoiceProfile {
  /** The language of items and labels. */
  language: 'en' | 'de';
  /** The seller's country (and so the currency) of invoice 1, 2, …, in turn. */
  sellerCountries: readonly CountryCode[];
  buyerCountries: readonly CountryCode[];
  numberShape: NumberShape;
  /** Share of invoices that print no tax line (tax null). */
  noTaxShare: number;
}

/** Shares of invoices without a due date, bank details or seller VAT id, and with a person as buyer. */
const NO_DUE_DATE = 0.2;
const NO_BANK_DETAILS = 0.15;
const NO_VAT_ID = 0.15;
const PERSON_BUYER = 0.25;
/** Share of company buyers whose VAT id is printed too (a distractor for the seller's). */
const BUYER_VAT_ID = 0.5;

interface ItemKind {
  en: string;
  de: string;
  /** Unit price range in whole currency units, and quantity range. */
  price: [number, number];
  quantity: [number, number];
}

const ITEMS: readonly ItemKind[] = [
  { en: 'Consulting services (hours)', de: 'Beratungsleistung (Stunden)', price: [85, 180], quantity: [2, 40] },
  { en: 'Software licence, annual', de: 'Softwarelizenz, jährlich', price: [240, 2400], quantity: [1, 5] },
  { en: 'Website maintenance', de: 'Wartung Website', price: [150, 900], quantity: [1, 3] },
  { en: 'Cloud hosting, monthly', de: 'Cloud-Hosting, monatlich', price: [19, 390], quantity: [1, 12] },
  { en: 'Office chairs', de: 'Bürostühle', price: [120, 480], quantity: [1, 12] },
  { en: 'Translation services (per page)', de: 'Übersetzung (pro Seite)', price: [18, 45], quantity: [5, 60] },
  {
    en: 'Printing of brochures (A4, 500 pcs)',
    de: 'Druck Broschüren (A4, 500 Stk.)',
    price: [220, 950],
    quantity: [1, 4],
  },
  { en: 'On-site installation', de: 'Montage vor Ort', price: [300, 1200], quantity: [1, 2] },
  { en: 'Training workshop (1 day)', de: 'Schulung (1 Tag)', price: [600, 1800], quantity: [1, 3] },
  { en: 'Shipping and handling', de: 'Versandkosten', price: [8, 60], quantity: [1, 1] },
  { en: 'Laptop stand, aluminium', de: 'Laptopständer, Aluminium', price: [25, 80], quantity: [1, 20] },
  { en: 'Replacement parts kit', de: 'Ersatzteilset', price: [45, 320], quantity: [1, 10] },
  { en: 'Graphic design (logo)', de: 'Grafikdesign (Logo)', price: [400, 1500], quantity: [1, 1] },
  { en: 'Data migration', de: 'Datenmigration', price: [500, 2500], quantity: [1, 1] },
  { en: 'Support contract, quarterly', de: 'Wartungsvertrag, quartalsweise', price: [300, 1500], quantity: [1, 4] },
];

function personName(rng: Rng, language: Language): string {
  const pool = NAMES[language];
  return `${rng.pick(pool.first)} ${rng.pick(pool.last)}`;
}

function address(rng: Rng, code: CountryCode): Pick<Party, 'street' | 'cityLine' | 'country'> {
  const country = COUNTRIES[code];
  return {
    street: country.streetLine(rng.pick(country.streets), rng.int(1, 180)),
    cityLine: rng.pick(country.cityLines),
    country: code,
  };
}

function companyName(rng: Rng, code: CountryCode): string {
  const country = COUNTRIES[code];
  const pool = NAMES[country.language];
  const [surname, surname2] = [rng.pick(pool.last), rng.pick(pool.last)];
  return rng.pick(country.legalForms)(rng.pick(pool.words), capitalize(surname), capitalize(surname2));
}

function makeSeller(rng: Rng, code: CountryCode): Seller {
  const country = COUNTRIES[code];
  const name = companyName(rng, code);
  const domain = `${slug(name)}.${country.tld}`;
  const place = address(rng, code);
  const city = place.cityLine.replace(/^[\d-]+\s+(\w\w\s)?/, '').replace(/,.*$/, '');
  return {
    kind: 'company',
    name,
    contact: null,
    ...place,
    vatId: country.vatId !== undefined && !rng.chance(NO_VAT_ID) ? country.vatId(rng) : null,
    email: `${rng.pick(['info', 'billing', 'accounts', 'office'])}@${domain}`,
    phone: country.phone.replace(/#/g, () => String(rng.int(0, 9))),
    website: `www.${domain}`,
    director: personName(rng, country.language),
    register: country.register?.(rng, city) ?? null,
  };
}

function makeBuyer(rng: Rng, code: CountryCode): Party {
  const country = COUNTRIES[code];
  const place = address(rng, code);
  if (rng.chance(PERSON_BUYER)) {
    return { kind: 'person', name: personName(rng, country.language), contact: null, ...place, vatId: null };
  }
  return {
    kind: 'company',
    name: companyName(rng, code),
    contact: rng.chance(0.5) ? personName(rng, country.language) : null,
    ...place,
    vatId: country.vatId !== undefined && rng.chance(BUYER_VAT_ID) ? country.vatId(rng) : null,
  };
}

function makeBankAccount(rng: Rng, code: CountryCode): BankAccount {
  const country = COUNTRIES[code];
  const bank = rng.pick(country.banks);
  if (country.bbanRest === undefined) {
    return { bank: bank.name, bic: bank.bic, iban: null, routing: bank.code, account: rng.digits(10, true) };
  }
  // Italy's BBAN starts with a check letter (CIN) before the bank code.
  const bban = (code === 'IT' ? rng.pick(['A', 'K', 'X']) : '') + bank.code + country.bbanRest(rng);
  return { bank: bank.name, bic: bank.bic, iban: makeIban(code, bban), routing: null, account: null };
}

function invoiceNumber(rng: Rng, shape: NumberShape, year: string): string {
  switch (shape) {
    case 'INV-year-4':
      return `INV-${year}-${rng.digits(4)}`;
    case 'year/3':
      return `${year}/${rng.int(1, 999)}`;
    case 'RE-5':
      return `RE-${rng.digits(5, true)}`;
    case 'A-6':
      return `A-${String(rng.int(1, 99999)).padStart(6, '0')}`;
    case 'year-5':
      return `${year}-${rng.digits(5)}`;
  }
}

/** The ISO date `days` after an ISO date (UTC, so no daylight saving shifts). */
function addDays(iso: string, days: number): string {
  const date = new Date(`${iso}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() + days);
  return date.toISOString().slice(0, 10);
}

function lineItems(rng: Rng, language: 'en' | 'de'): LineItem[] {
  const kinds = [...ITEMS];
  const count = rng.int(2, 6);
  const items: LineItem[] = [];
  for (let i = 0; i < count; i++) {
    const kind = kinds.splice(rng.int(0, kinds.length - 1), 1)[0]!;
    const quantity = rng.int(...kind.quantity);
    const unitCents = rng.chance(0.6)
      ? rng.int(...kind.price) * 100
      : rng.int(kind.price[0] * 100, kind.price[1] * 100);
    items.push({ description: kind[language], quantity, unitCents, amountCents: quantity * unitCents });
  }
  return items;
}

/** Invoice `index` (from 0) of a template's profile, drawn from `rng`. */
export function makeInvoice(id: string, profile: InvoiceProfile, index: number, rng: Rng): InvoiceRecord {
  const sellerCountry = profile.sellerCountries[index % profile.sellerCountries.length]!;
  const seller = makeSeller(rng, sellerCountry);
  let buyer = makeBuyer(rng, rng.pick(profile.buyerCountries));
  while (buyer.name === seller.name) buyer = makeBuyer(rng, buyer.country);

  const issueDate = addDays('2025-01-06', rng.int(0, 540));
  const items = lineItems(rng, profile.language);
  const subtotalCents = items.reduce((sum, item) => sum + item.amountCents, 0);
  const taxRate = rng.chance(profile.noTaxShare) ? null : rng.pick(COUNTRIES[sellerCountry].taxRates);
  const taxCents = taxRate === null ? null : Math.round((subtotalCents * taxRate) / 100);
  const customerPrefix = profile.language === 'de' ? 'K-' : 'C';

  return {
    id,
    number: invoiceNumber(rng, profile.numberShape, issueDate.slice(0, 4)),
    issueDate,
    dueDate: rng.chance(NO_DUE_DATE) ? null : addDays(issueDate, rng.pick([14, 14, 21, 30, rng.int(14, 30)])),
    seller,
    buyer,
    currency: COUNTRIES[sellerCountry].currency,
    items,
    taxRate,
    subtotalCents,
    taxCents,
    totalCents: subtotalCents + (taxCents ?? 0),
    bankAccount: rng.chance(NO_BANK_DETAILS) ? null : makeBankAccount(rng, sellerCountry),
    customerNumber: customerPrefix + rng.digits(5, true),
    orderNumber: `PO-${rng.digits(6, true)}`,
  };
}
