// Proves the generated schemas against real data.
//
//   npx tsc && node dist/validate.js ROWS.json
//
// ROWS.json maps every table name to the rows a database returned for it, as
// PostgreSQL's own JSON (json_agg). Every row must parse with its table's Row
// schema, and objects the database would reject must be rejected too. Exits
// non-zero, naming each failure, when anything is off.
import { readFileSync } from "node:fs";

import {
  ChatSessionRow,
  type GoalRow,
  GoalInsert,
  type GoalType,
  PlanItemRow,
  tables,
  type TableName,
  VisionInsert,
  VisionRow,
  WeeklyPlanRow,
} from "./planner.zod.js";

// The types are real types, not `any`: these lines must not compile.
// @ts-expect-error: "family" is not a goal type.
const notAGoalType: GoalType = "family";
// @ts-expect-error: a goal row's week number does not exist.
const noSuchColumn: GoalRow["week_no"] = 1;
void notAGoalType;
void noSuchColumn;

type Json = Record<string, unknown>;
const failures: string[] = [];

function parseRows(exported: Record<string, Json[]>): void {
  for (const name of Object.keys(tables) as TableName[]) {
    const rows = exported[name];
    if (!Array.isArray(rows) || rows.length === 0) {
      failures.push(`${name}: no rows exported, nothing was checked`);
      continue;
    }
    rows.forEach((row, index) => {
      const result = tables[name].Row.safeParse(row);
      if (!result.success) {
        failures.push(`${name}[${index}] rejected: ${result.error.message}`);
      }
    });
  }
  for (const name of Object.keys(exported)) {
    if (!(name in tables)) failures.push(`${name}: no schema for this table`);
  }
}

function expectRejected(
  what: string,
  schema: { safeParse(value: unknown): { success: boolean } },
  value: unknown,
): void {
  if (schema.safeParse(value).success) failures.push(`accepted ${what}`);
}

function expectAccepted(
  what: string,
  schema: { safeParse(value: unknown): { success: boolean; error?: unknown } },
  value: unknown,
): void {
  const result = schema.safeParse(value);
  if (!result.success) failures.push(`rejected ${what}: ${String(result.error)}`);
}

function rejectBadObjects(exported: Record<string, Json[]>): void {
  const [vision] = exported.vision ?? [];
  const [goal] = exported.goal ?? [];
  const [week] = exported.weekly_plan ?? [];
  const [item] = exported.plan_item ?? [];
  const [session] = exported.chat_session ?? [];
  if (!vision || !goal || !week || !item || !session) return;

  expectRejected("an unknown goal type", tables.goal.Row, { ...goal, goal_type: "family" });
  expectRejected("a blank goal title", tables.goal.Row, { ...goal, title: "   " });
  expectRejected("week 13", WeeklyPlanRow, { ...week, week_no: 13 });
  expectRejected("week 0", WeeklyPlanRow, { ...week, week_no: 0 });
  expectRejected("week 1.5", WeeklyPlanRow, { ...week, week_no: 1.5 });
  expectRejected("a negative quota", PlanItemRow, { ...item, quota: -1 });
  expectRejected("a negative completed count", PlanItemRow, { ...item, completed_count: -1 });
  expectRejected("a quota beyond integer", PlanItemRow, { ...item, quota: 2 ** 31 });
  expectRejected("an array as context", ChatSessionRow, { ...session, context: [] });
  expectRejected("a string as context", ChatSessionRow, { ...session, context: "{}" });
  expectRejected("null as context", ChatSessionRow, { ...session, context: null });
  expectRejected("a malformed id", VisionRow, { ...vision, id: "not-a-uuid" });
  expectRejected("a malformed owner", VisionRow, { ...vision, user_id: "1234" });
  expectRejected("a date-time without offset", VisionRow, {
    ...vision,
    created_at: "2026-09-07T10:00:00",
  });
  expectRejected("an unknown column", VisionRow, { ...vision, colour: "red" });
  expectRejected("a missing column", VisionRow, { ...vision, status: undefined });

  const newGoal = { user_id: goal.user_id, cycle_id: goal.cycle_id, title: "Run" };
  expectRejected("a goal insert without its type", GoalInsert, newGoal);
  expectAccepted("a goal insert with its type", GoalInsert, {
    ...newGoal,
    goal_type: "personal",
  });
  expectRejected("a vision insert with a blank title", VisionInsert, {
    user_id: vision.user_id,
    title: " ",
    statement: "Something",
  });
  expectAccepted("a minimal vision insert", VisionInsert, {
    user_id: vision.user_id,
    title: "A",
    statement: "B",
  });
  expectAccepted("an empty update", tables.vision.Update, {});
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
console.log(`${count} rows of ${Object.keys(exported).length} tables parse; bad objects rejected`);
