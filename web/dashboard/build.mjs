// Bundle the dashboard into the Python package (src/kubelite/apiserver/dashboard/static/):
// one ES module script and one stylesheet, minified. Run by `make install` after `npm ci`.
import * as esbuild from "esbuild";
import { copyFileSync, mkdirSync, readdirSync, rmSync, statSync } from "node:fs";

const out = process.argv[2] || "../../src/kubelite/apiserver/dashboard/static";
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
await esbuild.build({
  entryPoints: { app: "src/main.js" },
  bundle: true, splitting: true, minify: true, format: "esm", target: "es2022",
  chunkNames: "[name]-[hash]", entryNames: "[name]",
  outdir: out, legalComments: "linked", logLevel: "warning",
});
copyFileSync("src/index.html", `${out}/index.html`);
for (const f of readdirSync(out).sort()) console.log(`${f}: ${(statSync(`${out}/${f}`).size / 1024).toFixed(1)} KiB`);
