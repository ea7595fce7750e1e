// Proves the generated schemas against real data.
//
//   npx tsc && node dist/validate.js ROWS.json
//
// ROWS.json maps every table and view name to the rows a database returned
// for it, as PostgreSQL's own JSON (json_agg). Every row must parse with its
// table's (or view's) Row schema, in Zod and in the JSON Schema, and objects
// the database would reject must be rejected by both. Exits non-zero, naming
// each failure.
import { readFileSync } from "node:fs";

import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

import * as planner from "./planner.zod.js";
import {
  type GoalRow,
  type GoalType,
  jsonbTextBytes,
  tables,
  type TableName,
  views,
  type ViewName,
  unrepresentableKey,
} from "./planner.zod.js";

// The types are real types, not `any`: these lines must not compile.
// @ts-expect-error: "family" is not a goal type.
const notAGoalType: GoalType = "family";
// @ts-expect-error: a goal row has no week number.
const noSuchColumn: GoalRow["week_no"] = 1;
void notAGoalType;
void noSuchColumn;

type Json = Record<string, unknown>;
type Definition = keyof typeof planner;
const failures: string[] = [];

const ajv = new Ajv2020({ allErrors: true, strict: true });
addFormats.default(ajv); // formats, and formatMinimum / formatMaximum
// The JSON Schema's keyword for the size of a JSON object, measured as the
// database measures it (the generated jsonbTextBytes).
ajv.addKeyword({
  keyword: "x-jsonb-max-bytes",
  type: "object",
  schemaType: "number",
  validate: (max: number, data: unknown) => jsonbTextBytes(data) <= max,
});
// Keys no JSON object may hold at any depth (the generated unrepresentableKey).
ajv.addKeyword({
  keyword: "x-json-unrepresentable-keys",
  type: "object",
  schemaType: "array",
  validate: (keys: string[], data: unknown) => unrepresentableKey(data, keys) === null,
});
ajv.addSchema(
  JSON.parse(readFileSync(new URL("../planner.schema.json", import.meta.url), "utf8")),
  "planner",
);

/** Why Zod and the JSON Schema reject `value` as `definition` (empty: accepted). */
function problems(definition: Definition, value: unknown): string[] {
  const found: string[] = [];
  const zod = planner[definition];
  if (typeof zod === "object" && "safeParse" in zod) {
    const result = zod.safeParse(value);
    if (!result.success) {
      const issues = result.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
      found.push(`Zod: ${issues.join("; ")}`);
    }
  } else {
    throw new Error(`${definition} is not a schema`);
  }
  const validate = ajv.getSchema(`planner#/$defs/${definition}`);
  if (!validate) throw new Error(`planner.schema.json has no ${definition}`);
  if (!validate(value)) found.push(`JSON Schema: ${ajv.errorsText(validate.errors)}`);
  return found;
}

function rowDefinition(name: TableName | ViewName): Definition {
  const pascal = name.replace(/(?:^|_)(\w)/g, (_, letter: string) => letter.toUpperCase());
  return `${pascal}Row` as Definition;
}

const relations = { ...tables, ...views };

function parseRows(exported: Record<string, Json[]>): void {
  for (const name of Object.keys(relations) as (TableName | ViewName)[]) {
    const rows = exported[name];
    if (!Array.isArray(rows) || rows.length === 0) {
      failures.push(`${name}: no rows exported, nothing was checked`);
      continue;
    }
    rows.forEach((row, index) => {
      for (const problem of problems(rowDefinition(name), row)) {
        failures.push(`${name}[${index}] rejected by ${problem}`);
      }
    });
  }
  for (const name of Object.keys(exported)) {
    if (!(name in relations)) failures.push(`${name}: no schema for this table`);
  }
}

function expectRejected(what: string, definition: Definition, value: unknown): void {
  const found = problems(definition, value);
  if (found.length < 2) failures.push(`${definition} accepted ${what}: ${found.join("")}`);
}

function expectAccepted(what: string, definition: Definition, value: unknown): void {
  for (const problem of problems(definition, value)) {
    failures.push(`${definition} rejected ${what}: ${problem}`);
  }
}

function rejectBadObjects(exported: Record<string, Json[]>): void {
  const [vision] = exported.vision ?? [];
  const [goal] = exported.goal ?? [];
  const [week] = exported.weekly_plan ?? [];
  const [item] = exported.plan_item ?? [];
  const [session] = exported.chat_session ?? [];
  const [score] = exported.weekly_score ?? [];
  const [cycleScore] = exported.cycle_score ?? [];
  if (!vision || !goal || !week || !item || !session || !score || !cycleScore) return;

  expectRejected("an unknown goal type", "GoalRow", { ...goal, goal_type: "family" });
  expectRejected("a blank goal title", "GoalRow", { ...goal, title: "   " });
  expectRejected("week 13", "WeeklyPlanRow", { ...week, week_no: 13 });
  expectRejected("week 0", "WeeklyPlanRow", { ...week, week_no: 0 });
  expectRejected("week 1.5", "WeeklyPlanRow", { ...week, week_no: 1.5 });
  expectRejected("a negative quota", "PlanItemRow", { ...item, quota: -1 });
  expectRejected("a negative count", "PlanItemRow", { ...item, completed_count: -1 });
  expectRejected("a quota beyond integer", "PlanItemRow", { ...item, quota: 2 ** 31 });
  expectRejected("an array as context", "ChatSessionRow", { ...session, context: [] });
  expectRejected("a string as context", "ChatSessionRow", { ...session, context: "{}" });
  expectRejected("null as context", "ChatSessionRow", { ...session, context: null });
  expectRejected("a malformed id", "VisionRow", { ...vision, id: "not-a-uuid" });
  expectRejected("a malformed owner", "VisionRow", { ...vision, user_id: "1234" });
  expectRejected("a date-time without offset", "VisionRow", {
    ...vision,
    created_at: "2026-09-07T10:00:00",
  });
  expectRejected("an unknown column", "VisionRow", { ...vision, colour: "red" });
  const { status: _status, ...withoutStatus } = vision;
  expectRejected("a missing column", "VisionRow", withoutStatus);

  // What the database stores, the Row schemas accept, and no more: ids and
  // owners are RFC 9562 UUIDs (the database checks it too), other uuid
  // columns any UUID; text as long as its limit in code points.
  const anyUuid = "11111111-1111-1111-1111-111111111111";
  expectRejected("an id of no RFC version", "VisionRow", { ...vision, id: anyUuid });
  expectAccepted("a session reference of no RFC version", "ChatSessionRow", {
    ...session,
    cycle_id: anyUuid,
  });
  expectAccepted("200 emoji as a title", "VisionRow", { ...vision, title: "😀".repeat(200) });
  expectRejected("a title of 201 characters", "VisionRow", {
    ...vision,
    title: "a".repeat(201),
  });
  for (const blank of ["\u00a0", "\u200b", "\ufeff", "\u200f", "\u202e", " \u3000\u2060"]) {
    expectRejected(`a title of ${JSON.stringify(blank)}`, "VisionRow", { ...vision, title: blank });
  }
  expectRejected("a start date before the range", "CycleInsert", {
    user_id: vision.user_id,
    start_date: "1999-12-31",
  });
  expectRejected("a start date after the range", "CycleInsert", {
    user_id: vision.user_id,
    start_date: "2200-01-01",
  });
  expectAccepted("a start date in the range", "CycleInsert", {
    user_id: vision.user_id,
    start_date: "2199-12-31",
  });
  expectRejected("a context over its size", "ChatSessionRow", {
    ...session,
    context: { notes: "x".repeat(16_384) },
  });
  // JSON.parse keeps __proto__ as an own key (an object literal would set
  // the prototype instead); the database refuses it at any depth.
  for (const [what, text] of [
    ["a context with a __proto__ key", '{"__proto__": {"admin": true}, "k": "v"}'],
    ["a nested __proto__ key", '{"k": {"deeper": [1, {"__proto__": null}]}}'],
  ]) {
    const context = JSON.parse(text) as Json;
    expectRejected(what, "ChatSessionRow", { ...session, context });
    expectRejected(what, "ChatSessionInsert", { user_id: session.user_id, context });
  }
  expectAccepted("a __proto__ string value", "ChatSessionInsert", {
    user_id: session.user_id,
    context: { k: "__proto__", list: ["__proto__"], constructor: 1 },
  });
  expectRejected("a timestamp of infinity", "VisionRow", { ...vision, updated_at: "infinity" });

  const newGoal = { user_id: goal.user_id, cycle_id: goal.cycle_id, title: "Run" };
  expectRejected("a goal without its type", "GoalInsert", newGoal);
  expectAccepted("a goal with its type", "GoalInsert", { ...newGoal, goal_type: "personal" });
  const newVision = { user_id: vision.user_id, title: "A", statement: "B" };
  expectRejected("a blank title", "VisionInsert", { ...newVision, title: " " });
  expectAccepted("a minimal vision", "VisionInsert", newVision);
  expectAccepted("an empty update", "VisionUpdate", {});
  expectRejected("an update to week 13", "WeeklyPlanUpdate", { week_no: 13 });

  // The views' rows: scores are shares, counts are not negative, and only
  // what may be null is.
  expectRejected("a score above 1", "WeeklyScoreRow", { ...score, score: 1.01 });
  expectRejected("a negative done", "WeeklyScoreRow", { ...score, done: -1 });
  expectRejected("a week 13 score", "WeeklyScoreRow", { ...score, week_no: 13 });
  expectRejected("a null planned", "WeeklyScoreRow", { ...score, planned: null });
  expectAccepted("a week with nothing planned", "WeeklyScoreRow", {
    ...score,
    planned: 0,
    done: 0,
    score: null,
    target_met: null,
  });
  expectRejected("a negative average", "CycleScoreRow", { ...cycleScore, average_score: -0.1 });
  expectRejected("13 weeks elapsed", "CycleScoreRow", { ...cycleScore, weeks_elapsed: 13 });
  expectAccepted("a cycle not started", "CycleScoreRow", {
    ...cycleScore,
    current_week: null,
    weeks_elapsed: 0,
    average_score: null,
    weeks_target_met: 0,
  });
}

const path = process.argv[2];
if (!path) {
  console.error("usage: node dist/validate.js ROWS.json");
  process.exit(2);
}
const exported = JSON.parse(readFileSync(path, "utf8")) as Record<string, Json[]>;
parseRows(exported);
rejectBadObjects(exported);
if (failures.length > 0) {
  for (const failure of failures) console.error(failure);
  console.error(`${failures.length} schema check(s) failed`);
  process.exit(1);
}
const count = Object.values(exported).reduce((n, rows) => n + rows.length, 0);
console.log(
  `${count} rows of ${Object.keys(exported).length} tables and views parse; bad objects rejected`,
);
