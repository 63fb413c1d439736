/**
 * A minimal, defensive reader for ZIP archives — just enough for the files `torch.save` writes
 * (`pytorch_model.bin` is a ZIP archive since PyTorch 1.6).
 *
 * How a ZIP file is laid out (all integers little-endian):
 *
 *   [local header 1][data 1][local header 2][data 2] … [central directory][end-of-central-directory record]
 *
 * - The **end-of-central-directory record** (EOCD, signature "PK\x05\x06", 22 bytes + a comment of up to
 *   65,535 bytes) sits at the very end. It gives the number of entries and where the central directory starts
 *   and how long it is. Readers find it by scanning backwards from the end of the file.
 * - **ZIP64**: those EOCD fields are 16/32-bit; when a value does not fit (more than 65,535 entries, or offsets
 *   and sizes beyond 4 GiB) the writer puts 0xFFFF / 0xFFFFFFFF there and adds a ZIP64 EOCD record
 *   ("PK\x06\x06") with 64-bit fields, found through a 20-byte ZIP64 locator ("PK\x06\x07") just before
 *   the EOCD. PyTorch's writer (miniz) always writes the ZIP64 records. Per entry, 32-bit fields that overflow
 *   are 0xFFFFFFFF in the central directory and the real values follow in a ZIP64 "extra field" (id 0x0001),
 *   in the order: uncompressed size, compressed size, local header offset (only those that overflowed).
 * - The **central directory** holds one 46-byte record ("PK\x01\x02") per entry plus its name, extra field
 *   and comment: compression method, CRC-32, sizes and the offset of the entry's local header.
 * - Each **local header** ("PK\x03\x04", 30 bytes + name + extra field) precedes the entry's data. Its extra
 *   field may differ from the central directory's (PyTorch pads it so that tensor data starts on a 64-byte
 *   boundary), so the data offset must be computed from the local header itself. Sizes in the local header
 *   may be zero (bit 3 of the flags: sizes follow the data in a "data descriptor"): we always take sizes
 *   from the central directory.
 *
 * Only STORED entries (method 0: the bytes as they are) are supported: `torch.save` never compresses, and
 * reading a stored entry is a plain byte range, which keeps tensors readable by random access. Compressed
 * or encrypted entries are refused with a ZipError.
 *
 * The archive is untrusted input: the comment length, entry counts, name lengths, offsets and sizes are all
 * checked against the file size (and limits) before anything they point at is read.
 */
import { WgbertError, placeInFile } from '../errors.js';
import type { ByteSource } from '../io/source.js';

/** A ZIP archive is malformed or uses a feature we do not support. Names the file and, where known, the entry. */
export class ZipError extends WgbertError {
  override readonly name: string = 'ZipError';
  readonly file: string;
  readonly entry: string | undefined;
  readonly offset: number | undefined;
  constructor(file: string, message: string, where: { entry?: string; offset?: number } = {}) {
    super('ZIP', `${placeInFile(file, { kind: 'entry', name: where.entry, offset: where.offset })}: ${message}`);
    this.file = file;
    this.entry = where.entry;
    this.offset = where.offset;
  }
}

export interface ZipEntry {
  name: string;
  /** 0 = stored, 8 = deflate, … */
  method: number;
  flags: number;
  crc32: number;
  compressedSize: number;
  /** Uncompressed size in bytes. */
  size: number;
  /** Absolute offset of the entry's local header. */
  localHeaderOffset: number;
}

export interface ZipDirectory {
  file: string;
  fileSize: number;
  /** In central-directory order. */
  entries: ZipEntry[];
  byName: Map<string, ZipEntry>;
  /** Absolute offset of the central directory (entry data must end before it). */
  centralDirectoryOffset: number;
}

export interface ZipReadOptions {
  /** Most entries accepted (default 1,000,000). */
  maxEntries?: number;
}

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const EOCD_SIZE = 22;
const ZIP64_LOCATOR_SIZE = 20;
const ZIP64_EOCD_SIZE = 56;
const CENTRAL_SIZE = 46;
const LOCAL_SIZE = 30;
const MAX_COMMENT = 0xffff;
const U16_MAX = 0xffff;
const U32_MAX = 0xffffffff;

const METHOD_NAMES: Record<number, string> = {
  8: 'deflate',
  9: 'deflate64',
  12: 'bzip2',
  14: 'lzma',
  93: 'zstd',
  95: 'xz',
};

/** Does this look like the start of a ZIP file (a local header signature)? */
export function isZipPrefix(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04;
}

/** Reads and validates the central directory (no entry data is read). */
export async function readZipDirectory(
  src: ByteSource,
  file: string,
  opts: ZipReadOptions = {},
): Promise<ZipDirectory> {
  const maxEntries = opts.maxEntries ?? 1_000_000;
  const size = src.size;
  if (size < EOCD_SIZE) throw new ZipError(file, `file is ${size} bytes, too short for a ZIP archive (truncated?)`);

  // 1. Find the EOCD: scan backwards over the last 22 + 65,535 bytes for a signature whose comment length
  //    reaches exactly the end of the file (a signature-like sequence inside the comment or data is skipped).
  const tailLength = Math.min(size, EOCD_SIZE + MAX_COMMENT);
  const tailStart = size - tailLength;
  const tail = await src.read(tailStart, tailLength);
  const tv = view(tail);
  let eocd = -1;
  for (let i = tailLength - EOCD_SIZE; i >= 0; i--) {
    if (tv.getUint32(i, true) === SIG_EOCD && i + EOCD_SIZE + tv.getUint16(i + 20, true) === tailLength) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) {
    throw new ZipError(file, 'no end-of-central-directory record found: not a ZIP archive, or truncated');
  }
  const eocdOffset = tailStart + eocd;
  const diskNumber = tv.getUint16(eocd + 4, true);
  const cdDisk = tv.getUint16(eocd + 6, true);
  let entriesOnDisk: number = tv.getUint16(eocd + 8, true);
  let totalEntries: number = tv.getUint16(eocd + 10, true);
  let cdSize: number = tv.getUint32(eocd + 12, true);
  let cdOffset: number = tv.getUint32(eocd + 16, true);
  let cdLimit = eocdOffset; // the central directory must end before this

  // 2. ZIP64: a locator just before the EOCD points at the ZIP64 EOCD record with 64-bit fields.
  const locatorAt = eocd - ZIP64_LOCATOR_SIZE;
  const hasLocator = locatorAt >= 0 && tv.getUint32(locatorAt, true) === SIG_ZIP64_LOCATOR;
  const needs64 = entriesOnDisk === U16_MAX || totalEntries === U16_MAX || cdSize === U32_MAX || cdOffset === U32_MAX;
  if (hasLocator) {
    const z64Offset = u64(tv, locatorAt + 8, file, 'ZIP64 EOCD offset', eocdOffset);
    const totalDisks = tv.getUint32(locatorAt + 16, true);
    if (totalDisks > 1)
      throw new ZipError(file, `multi-disk archives are not supported (${totalDisks} disks)`, { offset: eocdOffset });
    const locatorOffset = tailStart + locatorAt;
    if (z64Offset + ZIP64_EOCD_SIZE > locatorOffset) {
      throw new ZipError(file, `ZIP64 end-of-central-directory offset ${z64Offset} is outside the file`, {
        offset: locatorOffset,
      });
    }
    const z = view(await src.read(z64Offset, ZIP64_EOCD_SIZE));
    if (z.getUint32(0, true) !== SIG_ZIP64_EOCD) {
      throw new ZipError(file, 'ZIP64 locator does not point at a ZIP64 end-of-central-directory record', {
        offset: z64Offset,
      });
    }
    entriesOnDisk = u64(z, 24, file, 'entry count', z64Offset);
    totalEntries = u64(z, 32, file, 'entry count', z64Offset);
    cdSize = u64(z, 40, file, 'central directory size', z64Offset);
    cdOffset = u64(z, 48, file, 'central directory offset', z64Offset);
    if (z.getUint32(16, true) !== 0 || z.getUint32(20, true) !== 0) {
      throw new ZipError(file, 'multi-disk archives are not supported', { offset: z64Offset });
    }
    cdLimit = z64Offset;
  } else if (needs64) {
    throw new ZipError(
      file,
      'the end-of-central-directory record needs ZIP64, but there is no ZIP64 locator (truncated?)',
      {
        offset: eocdOffset,
      },
    );
  } else if (diskNumber !== 0 || cdDisk !== 0) {
    throw new ZipError(file, 'multi-disk archives are not supported', { offset: eocdOffset });
  }

  // 3. Bound the central directory and the entry count before reading it.
  if (entriesOnDisk !== totalEntries)
    throw new ZipError(file, 'multi-disk archives are not supported', { offset: eocdOffset });
  if (cdOffset + cdSize > cdLimit) {
    throw new ZipError(
      file,
      `central directory [${cdOffset}, ${cdOffset + cdSize}) runs past its end record at byte ${cdLimit} ` +
        '(truncated or corrupt)',
      { offset: eocdOffset },
    );
  }
  if (totalEntries > maxEntries) throw new ZipError(file, `${totalEntries} entries exceed the limit of ${maxEntries}`);
  if (totalEntries * CENTRAL_SIZE > cdSize) {
    throw new ZipError(file, `${totalEntries} entries cannot fit in a central directory of ${cdSize} bytes`, {
      offset: cdOffset,
    });
  }

  // 4. Parse the central directory records.
  const cd = await src.read(cdOffset, cdSize);
  const cv = view(cd);
  const entries: ZipEntry[] = [];
  const byName = new Map<string, ZipEntry>();
  let p = 0;
  for (let n = 0; n < totalEntries; n++) {
    const at = cdOffset + p;
    if (p + CENTRAL_SIZE > cdSize)
      throw new ZipError(file, `central directory record ${n} is truncated`, { offset: at });
    if (cv.getUint32(p, true) !== SIG_CENTRAL)
      throw new ZipError(file, `bad central directory signature for record ${n}`, { offset: at });
    const flags = cv.getUint16(p + 8, true);
    const method = cv.getUint16(p + 10, true);
    const crc = cv.getUint32(p + 16, true);
    let compressedSize: number = cv.getUint32(p + 20, true);
    let uncompressedSize: number = cv.getUint32(p + 24, true);
    const nameLength = cv.getUint16(p + 28, true);
    const extraLength = cv.getUint16(p + 30, true);
    const commentLength = cv.getUint16(p + 32, true);
    const diskStart = cv.getUint16(p + 34, true);
    let localHeaderOffset: number = cv.getUint32(p + 42, true);
    const recordEnd = p + CENTRAL_SIZE + nameLength + extraLength + commentLength;
    if (recordEnd > cdSize)
      throw new ZipError(file, `central directory record ${n} runs past the directory`, { offset: at });
    const nameBytes = cd.subarray(p + CENTRAL_SIZE, p + CENTRAL_SIZE + nameLength);
    const name = decodeName(nameBytes, flags);

    // ZIP64 extended information: 64-bit values for the fields that hold 0xFFFFFFFF, in a fixed order.
    if (
      compressedSize === U32_MAX ||
      uncompressedSize === U32_MAX ||
      localHeaderOffset === U32_MAX ||
      diskStart === U16_MAX
    ) {
      const extra = cd.subarray(p + CENTRAL_SIZE + nameLength, p + CENTRAL_SIZE + nameLength + extraLength);
      const z = findExtra(extra, 0x0001);
      if (z === undefined)
        throw new ZipError(file, 'sizes need ZIP64 but the entry has no ZIP64 extra field', {
          entry: name,
          offset: at,
        });
      const zv = view(z);
      let q = 0;
      const next = (what: string): number => {
        if (q + 8 > z.length)
          throw new ZipError(file, `ZIP64 extra field is too short for the ${what}`, { entry: name, offset: at });
        const v = u64(zv, q, file, what, at);
        q += 8;
        return v;
      };
      if (uncompressedSize === U32_MAX) uncompressedSize = next('uncompressed size');
      if (compressedSize === U32_MAX) compressedSize = next('compressed size');
      if (localHeaderOffset === U32_MAX) localHeaderOffset = next('local header offset');
    }
    if (localHeaderOffset + LOCAL_SIZE + compressedSize > cdOffset) {
      throw new ZipError(
        file,
        `local header offset ${localHeaderOffset} + ${compressedSize} bytes of data run past the central directory`,
        {
          entry: name,
          offset: at,
        },
      );
    }
    if (byName.has(name)) throw new ZipError(file, 'duplicate entry name', { entry: name, offset: at });
    const entry: ZipEntry = {
      name,
      method,
      flags,
      crc32: crc,
      compressedSize,
      size: uncompressedSize,
      localHeaderOffset,
    };
    entries.push(entry);
    byName.set(name, entry);
    p = recordEnd;
  }
  return { file, fileSize: size, entries, byName, centralDirectoryOffset: cdOffset };
}

/**
 * Absolute byte range [begin, end) of a STORED entry's data, located through its local header.
 * Refuses compressed and encrypted entries.
 */
export async function zipEntryRange(
  src: ByteSource,
  dir: ZipDirectory,
  entry: ZipEntry,
): Promise<{ begin: number; end: number }> {
  const { file } = dir;
  if (entry.flags & 0x1)
    throw new ZipError(file, 'entry is encrypted; encrypted archives are not supported', { entry: entry.name });
  if (entry.method !== 0) {
    const kind = METHOD_NAMES[entry.method] ?? `method ${entry.method}`;
    throw new ZipError(
      file,
      `entry is compressed (${kind}); only stored (uncompressed) entries are supported — ` +
        'torch.save writes stored entries',
      { entry: entry.name },
    );
  }
  if (entry.compressedSize !== entry.size) {
    throw new ZipError(file, `stored entry has compressed size ${entry.compressedSize} ≠ size ${entry.size}`, {
      entry: entry.name,
    });
  }
  const at = entry.localHeaderOffset;
  const lh = view(await src.read(at, LOCAL_SIZE));
  if (lh.getUint32(0, true) !== SIG_LOCAL)
    throw new ZipError(file, 'bad local header signature', { entry: entry.name, offset: at });
  if (lh.getUint16(8, true) !== 0)
    throw new ZipError(file, 'local header says the entry is compressed', { entry: entry.name, offset: at });
  const begin = at + LOCAL_SIZE + lh.getUint16(26, true) + lh.getUint16(28, true);
  const end = begin + entry.size;
  if (end > dir.centralDirectoryOffset) {
    throw new ZipError(
      file,
      `entry data [${begin}, ${end}) runs past the central directory at byte ${dir.centralDirectoryOffset}`,
      {
        entry: entry.name,
        offset: at,
      },
    );
  }
  return { begin, end };
}

/** Reads a whole STORED entry; checks its CRC-32 unless `verifyCrc` is false. */
export async function readZipEntry(
  src: ByteSource,
  dir: ZipDirectory,
  entry: ZipEntry,
  opts: { verifyCrc?: boolean } = {},
): Promise<Uint8Array> {
  const { begin, end } = await zipEntryRange(src, dir, entry);
  const bytes = await src.read(begin, end - begin);
  if (opts.verifyCrc !== false) checkCrc(dir.file, entry, bytes);
  return bytes;
}

/** Throws a ZipError if `bytes` (the entry's whole data) do not have the entry's CRC-32. */
export function checkCrc(file: string, entry: ZipEntry, bytes: Uint8Array): void {
  const actual = crc32(bytes);
  if (actual !== entry.crc32) {
    throw new ZipError(
      file,
      `CRC-32 mismatch: data has ${hex32(actual)}, directory says ${hex32(entry.crc32)} (corrupt file?)`,
      {
        entry: entry.name,
      },
    );
  }
}

// -------------------------------------------- CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320, as ZIP uses)

let crcTables: Int32Array | undefined;

/**
 * Lookup tables for "slicing by 8": table 0 is the classic byte-at-a-time table (CRC of one byte); table k
 * gives the CRC contribution of a byte followed by k zero bytes, so eight bytes are folded in per step.
 */
function tables(): Int32Array {
  if (crcTables === undefined) {
    const t = new Int32Array(8 * 256); // int32 entries keep the arithmetic in small integers
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      t[n] = c;
    }
    for (let n = 0; n < 256; n++) {
      for (let k = 1; k < 8; k++) {
        const prev = t[(k - 1) * 256 + n]!;
        t[k * 256 + n] = t[prev & 0xff]! ^ (prev >>> 8);
      }
    }
    crcTables = t;
  }
  return crcTables;
}

/** CRC-32 of `bytes`, continuing from `crc` (the CRC of the bytes before, 0 to start). */
export function crc32(bytes: Uint8Array, crc = 0): number {
  const t = tables();
  let c = ~crc;
  let i = 0;
  const n8 = bytes.length - (bytes.length % 8);
  for (; i < n8; i += 8) {
    const lo = c ^ (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24));
    c =
      t[1792 + (lo & 0xff)]! ^
      t[1536 + ((lo >>> 8) & 0xff)]! ^
      t[1280 + ((lo >>> 16) & 0xff)]! ^
      t[1024 + (lo >>> 24)]! ^
      t[768 + bytes[i + 4]!]! ^
      t[512 + bytes[i + 5]!]! ^
      t[256 + bytes[i + 6]!]! ^
      t[bytes[i + 7]!]!;
  }
  for (; i < bytes.length; i++) c = t[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

// ---------------------------------------------------------------- helpers

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** An unsigned 64-bit field as a number, refusing values beyond 2^53 (no real file is that large). */
function u64(v: DataView, at: number, file: string, what: string, offset: number): number {
  const x = v.getBigUint64(at, true);
  if (x > BigInt(Number.MAX_SAFE_INTEGER)) throw new ZipError(file, `${what} ${x} is absurdly large`, { offset });
  return Number(x);
}

/** The payload of the extra-field block with header id `id`, if any. */
function findExtra(extra: Uint8Array, id: number): Uint8Array | undefined {
  const v = view(extra);
  let p = 0;
  while (p + 4 <= extra.length) {
    const hid = v.getUint16(p, true);
    const len = v.getUint16(p + 2, true);
    if (p + 4 + len > extra.length) return undefined;
    if (hid === id) return extra.subarray(p + 4, p + 4 + len);
    p += 4 + len;
  }
  return undefined;
}

/** Names are UTF-8 when flag bit 11 is set, else (officially) CP437; we read those as Latin-1. */
function decodeName(bytes: Uint8Array, flags: number): string {
  if (flags & 0x800) return new TextDecoder('utf-8').decode(bytes);
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}

function hex32(x: number): string {
  return '0x' + x.toString(16).padStart(8, '0');
}
