// Type tests of the generated `Database` (database.types.ts) with the real
// client, @supabase/supabase-js as pinned in package.json. `tsc` compiles
// this file in the test suite; it is never run. Every line under a
// `// @ts-expect-error` must fail to compile: if one compiles, tsc reports
// the directive as unused and the suite fails.
import { createClient } from "@supabase/supabase-js";

import type { Database, Enums, JsonObject, Tables, TablesInsert } from "./database.types.js";

const db = createClient<Database>("http://127.0.0.1:3000", "a-key");
const user_id = "11111111-1111-1111-1111-111111111111";

export async function inserts(): Promise<void> {
  const vision = await db
    .from("vision")
    .insert({ user_id, title: "Run a marathon", statement: "Healthy and strong" })
    .select()
    .single();
  const visionRow: Tables<"vision"> | null = vision.data;

  // end_date is filled by a trigger: it may be left out.
  const cycle = await db
    .from("cycle")
    .insert({ user_id, start_date: "2027-01-04", vision_id: visionRow?.id ?? null })
    .select("id, start_date, end_date, status")
    .single();
  const cycle_id: string = cycle.data?.id ?? "";
  const endDate: string | undefined = cycle.data?.end_date;

  const goal: TablesInsert<"goal"> = {
    user_id,
    cycle_id,
    goal_type: "professional",
    title: "Ship the planner",
  };
  const goals = await db.from("goal").insert(goal).select("id, goal_type");
  const goalType: Enums<"goal_type"> | undefined = goals.data?.[0]?.goal_type;

  // task.cycle_id is filled by a trigger.
  await db.from("task").insert({ user_id, goal_id: "g", title: "Write daily" });
  // weekly_plan.week_start_date is filled by a trigger.
  await db.from("weekly_plan").insert({ user_id, cycle_id, week_no: 1 });
  // plan_item.cycle_id is filled by a trigger; quota has a default.
  await db.from("plan_item").insert([
    { user_id, weekly_plan_id: "w", task_id: "t" },
    { user_id, weekly_plan_id: "w", task_id: "u", quota: 3, notes: null },
  ]);
  const context: JsonObject = { focus: "week 1", tags: ["a", "b"], depth: 2 };
  await db.from("chat_session").insert({ user_id, context });
  await db
    .from("chat_message")
    .insert({ user_id, session_id: "s", role: "user", content: "Hello" });
  void endDate;
  void goalType;
}

export async function selects(): Promise<void> {
  // An embedded select, typed through the Relationships of the foreign keys.
  const cycles = await db
    .from("cycle")
    .select("id, goal(*, task(*))")
    .eq("status", "active");
  for (const cycle of cycles.data ?? []) {
    for (const goal of cycle.goal) {
      const type: "professional" | "personal" = goal.goal_type;
      const titles: string[] = goal.task.map((task) => task.title);
      void type;
      void titles;
    }
  }
  const history = await db.from("audit_log").select("action, before, after");
  const before: JsonObject | null | undefined = history.data?.[0]?.before;
  void before;
}

export async function views(): Promise<void> {
  // A cycle's scoreboard: its 12 weeks and the cycle's own row. View columns
  // are nullable, as PostgreSQL and Supabase's generator say; the Zod Row
  // schemas (WeeklyScoreRow, CycleScoreRow) say which never are.
  const weeks = await db
    .from("weekly_score")
    .select()
    .eq("cycle_id", "c")
    .order("week_no");
  for (const week of weeks.data ?? []) {
    const weekNo: number | null = week.week_no;
    const planned: number | null = week.planned;
    const score: number | null = week.score;
    const met: boolean | null = week.target_met;
    const locked: boolean | null = week.locked;
    void [weekNo, planned, score, met, locked];
  }
  const cycle = await db
    .from("cycle_score")
    .select("average_score, current_week, weeks_elapsed")
    .eq("cycle_id", "c")
    .single();
  const average: number | null | undefined = cycle.data?.average_score;
  const elapsed: number | null | undefined = cycle.data?.weeks_elapsed;
  // PostgREST infers relationships through the views' copied keys: a week's
  // score embeds its cycle, a goal its cycle's score.
  const withCycle = await db.from("weekly_score").select("week_no, cycle(start_date)");
  const start: string | undefined = withCycle.data?.[0]?.cycle?.start_date;
  const goals = await db.from("goal").select("title, cycle_score(average_score)");
  const goalScore: number | null | undefined = goals.data?.[0]?.cycle_score?.average_score;
  void [average, elapsed, start, goalScore];
}

export async function updates(): Promise<void> {
  await db.from("plan_item").update({ completed_count: 2 }).eq("id", "p");
  await db.from("cycle").update({ lock_enforced: true }).eq("id", "c");
  await db.from("weekly_plan").update({ reflection: null }).eq("id", "w");
}

export async function refusals(): Promise<void> {
  // @ts-expect-error: "family" is not a goal type.
  await db.from("goal").insert({ user_id, cycle_id: "c", goal_type: "family", title: "T" });
  // @ts-expect-error: a goal needs its title.
  await db.from("goal").insert({ user_id, cycle_id: "c", goal_type: "personal" });
  // @ts-expect-error: a goal has no column colour.
  await db.from("goal").update({ colour: "red" }).eq("id", "g");
  // @ts-expect-error: there is no table goals.
  await db.from("goals").select();
  // @ts-expect-error: a task's title is not nullable.
  await db.from("task").update({ title: null }).eq("id", "t");
  // @ts-expect-error: the audit log is written by the database alone.
  await db.from("audit_log").insert({ action: "INSERT" });
  // @ts-expect-error: a JSONB column holds an object, not an array.
  await db.from("chat_session").insert({ user_id, context: ["not", "an", "object"] });
  // @ts-expect-error: a goal row has no column week_no.
  await db.from("goal").select("week_no").single().then((r) => r.data?.week_no);
  // @ts-expect-error: a view is read-only: nothing is inserted into it.
  await db.from("weekly_score").insert({ planned: 1 });
  // @ts-expect-error: a view is read-only: nothing in it is updated.
  await db.from("cycle_score").update({ average_score: 1 }).eq("cycle_id", "c");
  // @ts-expect-error: a weekly score has no column quota.
  await db.from("weekly_score").select("quota").single().then((r) => r.data?.quota);
  // @ts-expect-error: a weekly score may be null (nothing planned).
  const score: number = (await db.from("weekly_score").select().single()).data!.score;
  void score;
}
