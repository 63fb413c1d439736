/**
 * A small PNG codec on node:zlib for the invoice generator: 8-bit non-interlaced PNGs (grey, RGB, with or
 * without alpha) decoded to grey, and grey images encoded as 8-bit grey PNGs.
 */
import { crc32, deflateSync, inflateSync } from 'node:zlib';

export interface GreyImage {
  width: number;
  height: number;
  /** One byte a pixel, row after row; 0 black, 255 white. */
  pixels: Uint8Array;
}

/** The PNG predictor of a filter type from the bytes left (a), up (b) and up-left (c); 4 is Paeth's. */
function predict(filter: number, a: number, b: number, c: number): number {
  if (filter === 0) return 0;
  if (filter === 1) return a;
  if (filter === 2) return b;
  if (filter === 3) return (a + b) >> 1;
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** Decodes an 8-bit PNG (grey, RGB, with or without alpha) to grey (Rec. 601 luma; alpha over white). */
export function decodeToGrey(png: Buffer): GreyImage {
  let [width, height, channels] = [0, 0, 0];
  const idat: Buffer[] = [];
  for (let pos = 8; pos < png.length; ) {
    const length = png.readUInt32BE(pos);
    const type = png.toString('latin1', pos + 4, pos + 8);
    const data = png.subarray(pos + 8, pos + 8 + length);
    if (type === 'IHDR') {
      [width, height] = [data.readUInt32BE(0), data.readUInt32BE(4)];
      channels = ({ 0: 1, 2: 3, 4: 2, 6: 4 } as Record<number, number>)[data[9]!] ?? 0;
      if (data[8] !== 8 || channels === 0 || data[12] !== 0) throw new Error('only 8-bit non-interlaced PNGs');
    } else if (type === 'IDAT') idat.push(data);
    pos += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const bytes = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const [filter, from, at] = [raw[y * (stride + 1)]!, y * (stride + 1) + 1, y * stride];
    for (let i = 0; i < stride; i++) {
      const a = i >= channels ? bytes[at + i - channels]! : 0;
      const b = y > 0 ? bytes[at + i - stride]! : 0;
      const c = i >= channels && y > 0 ? bytes[at + i - stride - channels]! : 0;
      bytes[at + i] = (raw[from + i]! + predict(filter, a, b, c)) & 255;
    }
  }
  const pixels = new Uint8Array(width * height);
  for (let i = 0; i < pixels.length; i++) {
    const p = i * channels;
    const grey = channels >= 3 ? 0.299 * bytes[p]! + 0.587 * bytes[p + 1]! + 0.114 * bytes[p + 2]! : bytes[p]!;
    const alpha = channels % 2 === 0 ? bytes[p + channels - 1]! / 255 : 1;
    pixels[i] = Math.round(grey * alpha + 255 * (1 - alpha));
  }
  return { width, height, pixels };
}

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/**
 * Encodes an 8-bit grey PNG. Every row is stored unfiltered (filter type 0): on these pages (flat white, text,
 * noise) that deflates smaller than the adaptive filters do.
 */
export function encodeGrey(image: GreyImage): Buffer {
  const { width, height, pixels } = image;
  const raw = Buffer.alloc((width + 1) * height);
  for (let y = 0; y < height; y++) raw.set(pixels.subarray(y * width, (y + 1) * width), y * (width + 1) + 1);
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 0, 0, 0, 0], 8); // depth 8, colour type 0 (grey), deflate, filter method 0, no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
