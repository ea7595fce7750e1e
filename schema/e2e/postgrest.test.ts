// The front end's path end to end: supabase-js against a real PostgREST in
// front of a Supabase-like database, as two users A and B, anon and
// service_role. Every row a response carries must parse with the generated
// Zod Row schema of its table or view (embedded rows included).
//
// Started by tests/supabase/test_postgrest.py, which builds the database,
// starts PostgREST and passes (environment):
//   PLANNER_E2E_URL          PostgREST's base URL (loopback)
//   PLANNER_E2E_JWT_SECRET   PostgREST's HS256 secret: tokens are minted here
//   PLANNER_E2E_USER_A/_B    two auth.users ids
//   PLANNER_E2E_LOCK_CODE    the lock's SQLSTATE (planner_app/errors.py)
//   PLANNER_E2E_LOCK_STATUS  the HTTP status PostgREST gives that SQLSTATE
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { before, describe, test } from "node:test";

import { createClient, type SupabaseClient } from "@supabase/supabase-js";

import * as planner from "../planner.zod.js";

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run this from the pytest suite`);
  return value;
}

const POSTGREST_URL = required("PLANNER_E2E_URL");
const JWT_SECRET = required("PLANNER_E2E_JWT_SECRET");
const USER_A = required("PLANNER_E2E_USER_A");
const USER_B = required("PLANNER_E2E_USER_B");
const LOCK_CODE = required("PLANNER_E2E_LOCK_CODE");
const LOCK_STATUS = Number(required("PLANNER_E2E_LOCK_STATUS"));

// -- Tokens and clients -------------------------------------------------------

function base64url(value: string | Buffer): string {
  return Buffer.from(value).toString("base64url");
}

/** An HS256 JWT signed with PostgREST's secret, valid for ten minutes. */
function token(claims: Record<string, string>): string {
  const now = Math.floor(Date.now() / 1000);
  const header = base64url(JSON.stringify({ alg: "HS256", typ: "JWT" }));
  const payload = base64url(
    JSON.stringify({ iss: "supabase", iat: now, exp: now + 600, ...claims }),
  );
  const signature = createHmac("sha256", JWT_SECRET)
    .update(`${header}.${payload}`)
    .digest("base64url");
  return `${header}.${payload}.${signature}`;
}

// supabase-js calls <project URL>/rest/v1/…; Supabase's gateway strips the
// prefix before PostgREST, and so does this fetch.
const throughGateway: typeof fetch = (input, init) => {
  const url = new URL(input instanceof Request ? input.url : String(input));
  url.pathname = url.pathname.replace(/^\/rest\/v1/, "") || "/";
  return fetch(url, init);
};

// The tests use no realtime channel; on Node.js without a native WebSocket
// supabase-js needs a transport to construct its client: one that refuses.
class NoRealtime {
  constructor() {
    throw new Error("these tests open no realtime connection");
  }
}

const ANON_KEY = token({ role: "anon" });
const SERVICE_ROLE_KEY = token({ role: "service_role" });

function client(accessToken?: string): SupabaseClient {
  return createClient(POSTGREST_URL, ANON_KEY, {
    ...(accessToken ? { accessToken: async () => accessToken } : {}),
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    global: { fetch: throughGateway },
    realtime: { transport: NoRealtime as never },
  });
}

function signedIn(userId: string): SupabaseClient {
  return client(
    token({
      sub: userId,
      role: "authenticated",
      aud: "authenticated",
      email: `${userId.slice(0, 8)}@example.test`,
    }),
  );
}

const asA = signedIn(USER_A);
const asB = signedIn(USER_B);
const asAnon = client();
const asService = client(SERVICE_ROLE_KEY);

// -- Responses ----------------------------------------------------------------

const ROW = {
  vision: planner.VisionRow,
  cycle: planner.CycleRow,
  goal: planner.GoalRow,
  task: planner.TaskRow,
  weekly_plan: planner.WeeklyPlanRow,
  plan_item: planner.PlanItemRow,
  chat_session: planner.ChatSessionRow,
  chat_message: planner.ChatMessageRow,
  audit_log: planner.AuditLogRow,
  weekly_score: planner.WeeklyScoreRow,
  cycle_score: planner.CycleScoreRow,
} as const;
type Table = keyof typeof ROW;
type Row = Record<string, unknown> & { id: string };

interface Response {
  data: unknown;
  error: { code: string; message: string; details?: unknown } | null;
  status: number;
}

/**
 * Parse every row of ``data`` with the Row schema of ``table``; embedded
 * rows (a key naming a table) with theirs.
 */
function parseRows(table: Table, data: unknown): Row[] {
  assert.ok(Array.isArray(data), `${table}: expected rows, got ${JSON.stringify(data)}`);
  for (const row of data as Record<string, unknown>[]) {
    const own: Record<string, unknown> = { ...row };
    for (const [key, value] of Object.entries(row)) {
      if (key in ROW && key !== table && value !== null && typeof value === "object") {
        parseRows(key as Table, Array.isArray(value) ? value : [value]);
        delete own[key];
      }
    }
    const parsed = ROW[table].safeParse(own);
    const issues = parsed.success
      ? ""
      : parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    assert.ok(parsed.success, `${table} row rejected by the Row schema: ${issues}`);
  }
  return data as Row[];
}

/** The rows of a successful response, parsed. */
async function rows(table: Table, request: PromiseLike<Response>): Promise<Row[]> {
  const { data, error, status } = await request;
  assert.equal(error, null, `${table}: HTTP ${status} ${JSON.stringify(error)}`);
  return parseRows(table, data);
}

/** The request was refused with ``code`` (and HTTP ``status``); no rows came back. */
async function refused(
  request: PromiseLike<Response>,
  code: string,
  status?: number,
): Promise<void> {
  const { data, error, status: got } = await request;
  assert.ok(error, `accepted (HTTP ${got}): ${JSON.stringify(data)}`);
  assert.equal(error.code, code, `HTTP ${got} ${JSON.stringify(error)}`);
  if (status !== undefined) assert.equal(got, status, JSON.stringify(error));
  assert.ok(data === null || (Array.isArray(data) && data.length === 0));
}

// -- The data -----------------------------------------------------------------

interface Chain {
  user: string;
  vision: string;
  cycle: string;
  goals: Record<"professional" | "personal", string>;
  tasks: string[];
  weeks: Record<number, string>;
  items: Record<number, string[]>;
  session: string;
  message: string;
}

/** vision → cycle → goals → tasks → 12 weekly plans → plan items → chat. */
async function createChain(db: SupabaseClient, user: string): Promise<Chain> {
  const [vision] = await rows(
    "vision",
    db
      .from("vision")
      .insert({ user_id: user, title: "A calm, focused life", statement: "I build what matters." })
      .select(),
  );
  const [cycle] = await rows(
    "cycle",
    db
      .from("cycle")
      .insert({ user_id: user, vision_id: vision.id, start_date: "2026-09-07", status: "active" })
      .select(),
  );
  const goalRows = await rows(
    "goal",
    db
      .from("goal")
      .insert(
        (["professional", "personal"] as const).map((goal_type) => ({
          user_id: user,
          cycle_id: cycle.id,
          goal_type,
          title: `${goal_type} goal`,
        })),
      )
      .select(),
  );
  const goals = Object.fromEntries(goalRows.map((g) => [g.goal_type, g.id])) as Chain["goals"];
  const taskRows = await rows(
    "task",
    db
      .from("task")
      .insert(
        goalRows.map((g) => ({ user_id: user, goal_id: g.id, title: `${g.goal_type} task`, default_quota: 3 })),
      )
      .select(),
  );
  const tasks = taskRows.map((t) => t.id);
  const weekRows = await rows(
    "weekly_plan",
    db
      .from("weekly_plan")
      .insert(Array.from({ length: 12 }, (_, i) => ({ user_id: user, cycle_id: cycle.id, week_no: i + 1 })))
      .select(),
  );
  const weeks = Object.fromEntries(weekRows.map((w) => [w.week_no, w.id])) as Chain["weeks"];
  const itemRows = await rows(
    "plan_item",
    db
      .from("plan_item")
      .insert(
        weekRows.flatMap((w) =>
          tasks.map((task_id) => ({ user_id: user, weekly_plan_id: w.id, task_id, quota: 3 })),
        ),
      )
      .select(),
  );
  const items: Chain["items"] = {};
  for (const item of itemRows) {
    const week = weekRows.find((w) => w.id === item.weekly_plan_id)!.week_no as number;
    (items[week] ??= []).push(item.id);
  }
  const [session] = await rows(
    "chat_session",
    db.from("chat_session").insert({ user_id: user, cycle_id: cycle.id, title: "Week 1 check-in" }).select(),
  );
  const [message] = await rows(
    "chat_message",
    db
      .from("chat_message")
      .insert({ user_id: user, session_id: session.id, role: "user", content: "How am I doing?" })
      .select(),
  );
  return {
    user,
    vision: vision.id,
    cycle: cycle.id,
    goals,
    tasks,
    weeks,
    items,
    session: session.id,
    message: message.id,
  };
}

let a: Chain;
let b: Chain;

before(async () => {
  a = await createChain(asA, USER_A);
  b = await createChain(asB, USER_B);
});

// -- The tests ----------------------------------------------------------------

describe("each user's full chain", () => {
  for (const [name, db, chain] of [
    ["A", asA, () => a],
    ["B", asB, () => b],
  ] as const) {
    test(`${name} reads the chain back with embedded selects`, async () => {
      const { cycle, vision, session, goals, weeks } = chain();
      const [read] = await rows(
        "cycle",
        db.from("cycle").select("*, goal(*, task(*)), weekly_plan(*, plan_item(*))").eq("id", cycle),
      );
      const readGoals = read.goal as Row[];
      assert.deepEqual(new Set(readGoals.map((g) => g.id)), new Set(Object.values(goals)));
      assert.ok(readGoals.every((g) => (g.task as Row[]).length === 1));
      const readWeeks = read.weekly_plan as Row[];
      assert.deepEqual(new Set(readWeeks.map((w) => w.id)), new Set(Object.values(weeks)));
      assert.ok(readWeeks.every((w) => (w.plan_item as Row[]).length === 2));

      const [withCycles] = await rows("vision", db.from("vision").select("*, cycle(*)").eq("id", vision));
      assert.deepEqual((withCycles.cycle as Row[]).map((c) => c.id), [cycle]);
      const [chat] = await rows(
        "chat_session",
        db.from("chat_session").select("*, chat_message(*)").eq("id", session),
      );
      assert.equal((chat.chat_message as Row[]).length, 1);
    });
  }
});

describe("isolation", () => {
  test("neither user sees, updates or deletes the other's rows", async () => {
    for (const [db, other] of [
      [asA, () => b],
      [asB, () => a],
    ] as const) {
      const them = other();
      for (const [table, id] of [
        ["vision", them.vision],
        ["cycle", them.cycle],
        ["goal", them.goals.professional],
        ["task", them.tasks[0]],
        ["weekly_plan", them.weeks[1]],
        ["plan_item", them.items[1][0]],
        ["chat_session", them.session],
        ["chat_message", them.message],
      ] as const) {
        assert.deepEqual(await rows(table, db.from(table).select().eq("id", id)), [], table);
        const changed = await rows(
          table,
          db.from(table).update({ updated_at: "2026-10-01T00:00:00+00:00" }).eq("id", id).select(),
        );
        assert.deepEqual(changed, [], `${table} updated`);
        assert.deepEqual(await rows(table, db.from(table).delete().eq("id", id).select()), [], `${table} deleted`);
      }
    }
    const [vision] = await rows("vision", asService.from("vision").select().eq("id", a.vision));
    assert.equal(vision.title, "A calm, focused life");
    assert.equal(
      (await rows("plan_item", asService.from("plan_item").select().eq("user_id", b.user))).length,
      24,
    );
  });

  test("a row pointing at the other user's parent is refused like a missing parent", async () => {
    await refused(
      asB.from("task").insert({ user_id: USER_B, goal_id: a.goals.personal, title: "Planted" }).select(),
      "23503",
      409,
    );
    await refused(
      asB.from("chat_session").insert({ user_id: USER_B, cycle_id: a.cycle, title: "Planted" }).select(),
      "23503",
      409,
    );
    await refused(
      asB
        .from("goal")
        .insert({ user_id: USER_B, cycle_id: a.cycle, goal_type: "professional", title: "Planted" })
        .select(),
      "23503",
      409,
    );
  });

  test("anon gets nothing", async () => {
    for (const table of Object.keys(ROW) as Table[]) {
      await refused(asAnon.from(table).select(), "42501", 401);
    }
    await refused(
      asAnon.from("vision").insert({ user_id: USER_A, title: "Anonymous", statement: "vision" }).select(),
      "42501",
      401,
    );
  });

  test("service_role sees both users", async () => {
    const visions = await rows(
      "vision",
      asService.from("vision").select().in("user_id", [USER_A, USER_B]),
    );
    assert.deepEqual(new Set(visions.map((v) => v.user_id)), new Set([USER_A, USER_B]));
  });
});

describe("rules a front end branches on", () => {
  test("a second goal of the same type is refused with 23505", async () => {
    await refused(
      asA
        .from("goal")
        .insert({ user_id: USER_A, cycle_id: a.cycle, goal_type: "professional", title: "Another" })
        .select(),
      "23505",
      409,
    );
  });
});

describe("the weeks 7-12 lock", () => {
  let spareTask: string;

  before(async () => {
    const [task] = await rows(
      "task",
      asA.from("task").insert({ user_id: USER_A, goal_id: a.goals.professional, title: "Spare" }).select(),
    );
    spareTask = task.id;
    const [cycle] = await rows(
      "cycle",
      asA.from("cycle").update({ lock_enforced: true }).eq("id", a.cycle).select(),
    );
    assert.equal(cycle.lock_enforced, true);
  });

  test(`changing a week-8 quota is refused with ${LOCK_CODE} (HTTP ${LOCK_STATUS})`, async () => {
    const item = a.items[8][0];
    await refused(asA.from("plan_item").update({ quota: 5 }).eq("id", item).select(), LOCK_CODE, LOCK_STATUS);
    const [unchanged] = await rows("plan_item", asA.from("plan_item").select().eq("id", item));
    assert.equal(unchanged.quota, 3);
  });

  test("adding or removing a week-9 item is refused", async () => {
    await refused(
      asA
        .from("plan_item")
        .insert({ user_id: USER_A, weekly_plan_id: a.weeks[9], task_id: spareTask, quota: 1 })
        .select(),
      LOCK_CODE,
      LOCK_STATUS,
    );
    await refused(asA.from("plan_item").delete().eq("id", a.items[9][0]).select(), LOCK_CODE, LOCK_STATUS);
    assert.equal((await rows("plan_item", asA.from("plan_item").select().eq("weekly_plan_id", a.weeks[9]))).length, 2);
  });

  test("deleting week 10 is refused", async () => {
    await refused(asA.from("weekly_plan").delete().eq("id", a.weeks[10]).select(), LOCK_CODE, LOCK_STATUS);
    assert.equal((await rows("weekly_plan", asA.from("weekly_plan").select().eq("id", a.weeks[10]))).length, 1);
  });

  test("recording completion in week 8 works", async () => {
    const [item] = await rows(
      "plan_item",
      asA.from("plan_item").update({ completed_count: 2 }).eq("id", a.items[8][0]).select(),
    );
    assert.equal(item.completed_count, 2);
    assert.equal(item.quota, 3);
  });

  test("lifting the lock is refused for A and works for service_role", async () => {
    await refused(asA.from("cycle").update({ lock_enforced: false }).eq("id", a.cycle).select(), "42501", 403);
    const [still] = await rows("cycle", asA.from("cycle").select().eq("id", a.cycle));
    assert.equal(still.lock_enforced, true);
    const [lifted] = await rows(
      "cycle",
      asService.from("cycle").update({ lock_enforced: false }).eq("id", a.cycle).select(),
    );
    assert.equal(lifted.lock_enforced, false);
  });
});

describe("the scoreboard", () => {
  test("each user reads only their own scores, equal to their plan items", async () => {
    for (const [db, chain, other] of [
      [asA, () => a, () => b],
      [asB, () => b, () => a],
    ] as const) {
      const { user, cycle, weeks } = chain();
      const scores = await rows("weekly_score", db.from("weekly_score").select().order("week_no"));
      assert.deepEqual(new Set(scores.map((s) => s.weekly_plan_id)), new Set(Object.values(weeks)));
      assert.ok(scores.every((s) => s.user_id === user && s.cycle_id === cycle));
      const items = await rows("plan_item", db.from("plan_item").select());
      for (const score of scores) {
        const own = items.filter((i) => i.weekly_plan_id === score.weekly_plan_id);
        const planned = own.reduce((n, i) => n + (i.quota as number), 0);
        const done = own.reduce(
          (n, i) => n + Math.min(i.completed_count as number, i.quota as number),
          0,
        );
        assert.deepEqual([score.planned, score.done, score.score], [planned, done, done / planned]);
      }
      const [cycleScore, ...more] = await rows("cycle_score", db.from("cycle_score").select());
      assert.deepEqual(more, []);
      assert.equal(cycleScore.cycle_id, cycle);
      const elapsed = cycleScore.weeks_elapsed as number;
      const counted = scores.filter((s) => (s.week_no as number) <= elapsed);
      const mean = counted.reduce((n, s) => n + (s.score as number), 0) / counted.length;
      assert.ok(Math.abs((cycleScore.average_score as number) - mean) < 1e-12);

      const them = other();
      for (const view of ["weekly_score", "cycle_score"] as const) {
        assert.deepEqual(await rows(view, db.from(view).select().eq("cycle_id", them.cycle)), []);
        assert.deepEqual(await rows(view, db.from(view).select().eq("user_id", them.user)), []);
      }
    }
  });

  test("relationships through the views' keys embed, as the types say", async () => {
    const [week] = await rows(
      "weekly_score",
      asA.from("weekly_score").select("*, cycle(*), cycle_score(*)").eq("week_no", 1),
    );
    assert.equal((week.cycle as Row).id, a.cycle);
    assert.equal((week.cycle_score as Record<string, unknown>).cycle_id, a.cycle);
    const [goal] = await rows(
      "goal",
      asA.from("goal").select("*, cycle_score(*)").eq("id", a.goals.personal),
    );
    assert.equal((goal.cycle_score as Record<string, unknown>).cycle_id, a.cycle);
    const [item] = await rows(
      "plan_item",
      asA.from("plan_item").select("*, weekly_score(*)").eq("id", a.items[2][0]),
    );
    assert.equal((item.weekly_score as Record<string, unknown>).week_no, 2);
  });

  test("service_role reads both users' scores; nobody writes them", async () => {
    const both = await rows(
      "cycle_score",
      asService.from("cycle_score").select().in("user_id", [USER_A, USER_B]),
    );
    assert.deepEqual(new Set(both.map((c) => c.user_id)), new Set([USER_A, USER_B]));
    const before = await rows("weekly_score", asService.from("weekly_score").select().order("week_no"));
    // The views are not updatable: PostgreSQL refuses the statement before
    // any privilege is checked (55000, which PostgREST answers with 500).
    // A client typed with the generated Database does not compile an insert
    // or an update of a view (schema/database.typetest.ts).
    for (const db of [asA, asService, asAnon]) {
      await refused(db.from("weekly_score").delete().eq("user_id", USER_A).select(), "55000", 500);
      await refused(
        db.from("cycle_score").update({ average_score: 1 }).eq("user_id", USER_A).select(),
        "55000",
        500,
      );
    }
    const after = await rows("weekly_score", asService.from("weekly_score").select().order("week_no"));
    assert.deepEqual(after, before);
  });
});

describe("the audit log", () => {
  test("is readable by its owner only", async () => {
    for (const [db, chain, other] of [
      [asA, () => a, () => b],
      [asB, () => b, () => a],
    ] as const) {
      const own = await rows("audit_log", db.from("audit_log").select().order("id"));
      assert.ok(own.length > 0);
      assert.ok(own.every((entry) => entry.user_id === chain().user));
      const theirs = await rows("audit_log", db.from("audit_log").select().eq("user_id", other().user));
      assert.deepEqual(theirs, []);
    }
  });

  test("is writable by nobody", async () => {
    const [entry] = await rows("audit_log", asService.from("audit_log").select().eq("user_id", USER_A).limit(1));
    for (const db of [asA, asService]) {
      await refused(
        db.from("audit_log").insert({ table_name: "vision", record_id: a.vision, action: "DELETE" }).select(),
        "42501",
        403,
      );
      await refused(db.from("audit_log").update({ table_name: "forged" }).eq("id", entry.id).select(), "42501", 403);
      await refused(db.from("audit_log").delete().eq("id", entry.id).select(), "42501", 403);
    }
    await refused(asAnon.from("audit_log").delete().eq("id", entry.id).select(), "42501", 401);
    const [kept] = await rows("audit_log", asService.from("audit_log").select().eq("id", entry.id));
    assert.deepEqual(kept, entry);
  });
});
