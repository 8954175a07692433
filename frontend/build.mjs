// Bundles src/ into dist/ (served by Django as static files). No CDN is used at run time.
import { build } from "esbuild";
import { cpSync, mkdirSync, readdirSync, rmSync } from "node:fs";

const outdir = "dist";
rmSync(outdir, { recursive: true, force: true });
mkdirSync(outdir, { recursive: true });

const entryPoints = readdirSync("src")
  .filter((name) => name.endsWith(".js"))
  .map((name) => `src/${name}`);

await build({
  entryPoints,
  outdir,
  bundle: true,
  format: "esm",
  splitting: true,
  minify: true,
  sourcemap: true,
  target: ["es2020"],
  logLevel: "info",
});
for (const name of readdirSync("src").filter((n) => n.endsWith(".css"))) {
  cpSync(`src/${name}`, `${outdir}/${name}`);
}
