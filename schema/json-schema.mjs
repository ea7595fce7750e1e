// Prints the JSON Schema (2020-12) of every schema a compiled planner.zod
// module exports, made by Zod itself (z.toJSONSchema), as {name: schema}.
// Run by `piccolo planner_app export_schema`, which writes the document.
//
//   node json-schema.mjs COMPILED_PLANNER_ZOD.js
import { pathToFileURL } from "node:url";
import { z } from "zod";

const path = process.argv[2];
if (!path) {
  console.error("usage: node json-schema.mjs COMPILED_PLANNER_ZOD.js");
  process.exit(2);
}
const exported = await import(pathToFileURL(path).href);
const registry = z.registry();
for (const [name, value] of Object.entries(exported)) {
  if (value instanceof z.ZodType) registry.add(value, { id: name });
}
const { schemas } = z.toJSONSchema(registry, {
  target: "draft-2020-12",
  uri: (id) => `#/$defs/${id}`,
});
const definitions = {};
for (const [name, schema] of Object.entries(schemas)) {
  const { $schema: _schema, $id: _id, ...definition } = schema;
  definitions[name] = definition;
}
process.stdout.write(JSON.stringify(definitions));
