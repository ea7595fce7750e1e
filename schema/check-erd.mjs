// Checks that every Mermaid block of each Markdown file given parses with
// Mermaid itself (in a DOM emulated by jsdom), as GitHub and the docs render
// it. Exit status 1 when any block of any file does not.
//
//   node check-erd.mjs ../docs/erd.md [more.md ...]
import { readFileSync } from "node:fs";
import { JSDOM } from "jsdom";

const { window } = new JSDOM("<!doctype html><html><body></body></html>");
globalThis.window = window;
globalThis.document = window.document;
const { default: mermaid } = await import("mermaid");

let failed = false;
for (const path of process.argv.slice(2)) {
  const blocks = [...readFileSync(path, "utf8").matchAll(/```mermaid\n([\s\S]*?)```/g)];
  if (blocks.length === 0) {
    console.error(`${path}: no mermaid block`);
    failed = true;
  }
  for (const [, text] of blocks) {
    try {
      const { diagramType } = await mermaid.parse(text);
      console.log(`${path}: the Mermaid ${diagramType} diagram parses`);
    } catch (error) {
      console.error(`${path}: ${String(error.message ?? error)}`);
      failed = true;
    }
  }
}
process.exit(failed ? 1 : 0);
