/**
 * A minimal PDF writer for scanned documents: each page is one image and nothing else (no text layer), as a
 * document scanner writes in its black-and-white mode: 1 bit per pixel, Flate-compressed, drawn over the whole
 * page. A page may instead hold lines of plain text in Helvetica (one of PDF's 14 standard fonts, not embedded),
 * so that a test can build a PDF with a text page and a scanned page. Deterministic: no dates, no IDs.
 */
import { deflateSync } from 'node:zlib';
import type { GreyImage } from './png.js';

export type ScanPdfPage =
  /** An image at `dpi` dots per inch, made 1-bit at `threshold` (darker is black). */
  | { image: GreyImage; dpi: number; threshold: number }
  /** Text lines (ASCII), 12 pt Helvetica from the top-left margin, on a page of the given size in points. */
  | { text: string[]; width: number; height: number };

/** 1 bit per pixel, rows padded to whole bytes, 1 = white (DeviceGray's sense of a 1-bit sample). */
function packBits(image: GreyImage, threshold: number): Buffer {
  const rowBytes = Math.ceil(image.width / 8);
  const out = Buffer.alloc(rowBytes * image.height);
  for (let y = 0; y < image.height; y++)
    for (let x = 0; x < image.width; x++)
      if (image.pixels[y * image.width + x]! >= threshold) out[y * rowBytes + (x >> 3)]! |= 0x80 >> (x & 7);
  return out;
}

const pdfString = (s: string) => `(${s.replace(/[\\()]/g, (c) => `\\${c}`)})`;

/** The PDF's bytes: one page per entry of `pages`. */
export function scanPdf(pages: ScanPdfPage[]): Buffer {
  const objects: Buffer[] = []; // object k + 1 is objects[k]
  const add = (body: string | Buffer) => {
    objects.push(typeof body === 'string' ? Buffer.from(body, 'latin1') : body);
    return objects.length;
  };
  const stream = (dict: string, data: Buffer) =>
    Buffer.concat([Buffer.from(`<< ${dict} /Length ${data.length} >>\nstream\n`), data, Buffer.from('\nendstream')]);

  const catalog = add('<< /Type /Catalog /Pages 2 0 R >>');
  const pagesId = add(''); // filled in below, once the pages are known
  let font = 0; // added with the first text page
  const kids: number[] = [];
  for (const page of pages) {
    let width: number;
    let height: number;
    let resources: string;
    let content: string;
    if ('image' in page) {
      const { image, dpi } = page;
      [width, height] = [(image.width * 72) / dpi, (image.height * 72) / dpi];
      const data = deflateSync(packBits(image, page.threshold), { level: 9 });
      const im = add(
        stream(
          `/Type /XObject /Subtype /Image /Width ${image.width} /Height ${image.height} ` +
            '/ColorSpace /DeviceGray /BitsPerComponent 1 /Filter /FlateDecode',
          data,
        ),
      );
      resources = `<< /XObject << /Im0 ${im} 0 R >> >>`;
      content = `q ${width.toFixed(2)} 0 0 ${height.toFixed(2)} 0 0 cm /Im0 Do Q`;
    } else {
      ({ width, height } = page);
      font ||= add('<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>');
      resources = `<< /Font << /F1 ${font} 0 R >> >>`;
      // 12 pt text, 14 pt leading, from 56 pt in and 72 pt down; each line by the ' operator (next line, show).
      const lines = page.text.map((l) => `${pdfString(l)} '`).join(' ');
      content = `BT /F1 12 Tf 14 TL 56 ${(height - 72).toFixed(2)} Td ${lines} ET`;
    }
    const contents = add(stream('', Buffer.from(content, 'latin1')));
    kids.push(
      add(
        `<< /Type /Page /Parent ${pagesId} 0 R /MediaBox [0 0 ${width.toFixed(2)} ${height.toFixed(2)}] ` +
          `/Resources ${resources} /Contents ${contents} 0 R >>`,
      ),
    );
  }
  objects[pagesId - 1] = Buffer.from(
    `<< /Type /Pages /Kids [${kids.map((k) => `${k} 0 R`).join(' ')}] /Count ${kids.length} >>`,
  );

  const parts: Buffer[] = [Buffer.from('%PDF-1.4\n%\xe2\xe3\xcf\xd3\n', 'latin1')];
  let offset = parts[0]!.length;
  const offsets: number[] = [];
  for (const [k, body] of objects.entries()) {
    const obj = Buffer.concat([Buffer.from(`${k + 1} 0 obj\n`), body, Buffer.from('\nendobj\n')]);
    offsets.push(offset);
    parts.push(obj);
    offset += obj.length;
  }
  const xref =
    `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n` +
    offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('') +
    `trailer\n<< /Size ${objects.length + 1} /Root ${catalog} 0 R >>\nstartxref\n${offset}\n%%EOF\n`;
  parts.push(Buffer.from(xref, 'latin1'));
  return Buffer.concat(parts);
}
