// Writes `<file>.br` (brotli quality 11) and `<file>.gz` (gzip level 9) beside every
// .wasm, .js and .css file of a directory, for the server to send precompressed
// (server/src/web.rs, `/pkg`). Run after `cargo leptos build`:
//   node tools/precompress.mjs target/site/pkg
import { readdirSync, readFileSync, writeFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import zlib from 'node:zlib';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node tools/precompress.mjs <directory>');
  process.exit(2);
}
let files;
try {
  files = readdirSync(dir).filter((f) => /\.(wasm|js|css)$/.test(f) && statSync(join(dir, f)).isFile());
} catch (e) {
  console.error(`precompress: cannot read ${dir}: ${e.message}`);
  process.exit(1);
}
let raw = 0;
let br = 0;
for (const f of files) {
  const path = join(dir, f);
  const data = readFileSync(path);
  const b = zlib.brotliCompressSync(data, {
    params: {
      [zlib.constants.BROTLI_PARAM_QUALITY]: 11,
      [zlib.constants.BROTLI_PARAM_SIZE_HINT]: data.length,
    },
  });
  writeFileSync(`${path}.br`, b);
  writeFileSync(`${path}.gz`, zlib.gzipSync(data, { level: 9 }));
  raw += data.length;
  br += b.length;
}
console.log(`precompress: ${files.length} files in ${dir}, ${(raw / 1024).toFixed(0)} KB → ${(br / 1024).toFixed(0)} KB brotli`);
