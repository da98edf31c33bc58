// Builds the console into ../dist: src/main.js and its imports (uPlot,
// lightweight-charts) bundled and minified by esbuild into app.js, the
// style sheets into app.css, and index.html copied. The output depends
// only on src/ and the locked packages, so the same sources give the
// same files.
import * as esbuild from 'esbuild';
import { mkdirSync, copyFileSync, readFileSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', 'dist');
for (const f of ['app.js', 'app.css', 'index.html']) {
  if (existsSync(join(out, f))) rmSync(join(out, f));
}
mkdirSync(out, { recursive: true });
await esbuild.build({
  entryPoints: [join(here, 'src', 'main.js')],
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['es2020'],
  legalComments: 'none',
  outfile: join(out, 'app.js'),
  logLevel: 'warning',
});
const css = [join(here, 'node_modules', 'uplot', 'dist', 'uPlot.min.css'), join(here, 'src', 'style.css')]
  .map((f) => readFileSync(f, 'utf8')).join('\n');
writeFileSync(join(out, 'app.css'), css);
copyFileSync(join(here, 'src', 'index.html'), join(out, 'index.html'));
