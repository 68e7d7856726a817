#!/usr/bin/env node
// Validate glTF/GLB/VRM files with the Khronos glTF-Validator (npm "gltf-validator").
//
//   bash scripts/setup.sh      # installs it into models/npm, pinned in scripts/gltf-validator.package.json
//   node scripts/validate-gltf.mjs FILE...
//
// Prints error/warning/info counts per file plus the error and warning messages.
// Exits 1 if any file has errors (warnings are reported but do not fail), 2 on usage
// or setup problems. VRM extensions show up as UNSUPPORTED_EXTENSION infos; that is fine.
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { dirname, join, resolve, basename } from "node:path";
import { fileURLToPath } from "node:url";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(join(repoRoot, "models", "npm", "package.json"));

let validator;
try {
  validator = require("gltf-validator");
} catch (e) {
  console.error(
    "gltf-validator not found under models/npm; run: bash scripts/setup.sh",
  );
  process.exit(2);
}

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: node scripts/validate-gltf.mjs FILE...");
  process.exit(2);
}

let failed = false;
for (const file of files) {
  let bytes;
  try {
    bytes = new Uint8Array(readFileSync(file));
  } catch (e) {
    console.error(`${file}: cannot read: ${e.message}`);
    failed = true;
    continue;
  }
  const report = await validator.validateBytes(bytes, {
    uri: basename(file),
    maxIssues: 0, // no limit
    // Images and buffers are embedded in GLB; nothing external to resolve.
    externalResourceFunction: () => Promise.reject(new Error("external resources not supported")),
  });
  const { numErrors, numWarnings, numInfos, numHints, messages } = report.issues;
  console.log(
    `${file}: ${numErrors} errors, ${numWarnings} warnings, ${numInfos} infos, ${numHints} hints`,
  );
  // severity: 0 error, 1 warning, 2 info, 3 hint; print at most 5 messages per code
  const seen = new Map();
  for (const m of messages) {
    if (m.severity > 1) continue;
    const n = (seen.get(m.code) ?? 0) + 1;
    seen.set(m.code, n);
    if (n <= 5) {
      const kind = m.severity === 0 ? "ERROR" : "WARNING";
      console.log(`  ${kind} ${m.code} ${m.pointer ?? ""}: ${m.message}`);
    }
  }
  for (const [code, n] of seen) {
    if (n > 5) console.log(`  ... ${n - 5} more ${code}`);
  }
  const info = report.info ?? {};
  if (info.totalTriangleCount !== undefined) {
    console.log(
      `  triangles ${info.totalTriangleCount}, vertices ${info.totalVertexCount}, ` +
        `materials ${info.materialCount}, morph targets ${info.hasMorphTargets}, skins ${info.hasSkins}`,
    );
  }
  if (numErrors > 0) failed = true;
}
process.exit(failed ? 1 : 0);
