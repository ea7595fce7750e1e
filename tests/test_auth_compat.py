"""
The auth compatibility step on plain PostgreSQL: the Supabase pieces the
schema needs exist and behave like Supabase's.
"""

from __future__ import annotations

import json
import uuid


async def test_supabase_roles_exist_and_service_role_bypasses_rls(db):
    roles = {
        row["rolname"]: row["rolbypassrls"]
        for row in await db.fetch(
            "select rolname, rolbypassrls from pg_roles "
            "where rolname in ('anon', 'authenticated', 'service_role')"
        )
    }
    assert roles == {"anon": False, "authenticated": False, "service_role": True}


async def test_auth_uid_role_and_jwt_read_the_request_claims(db):
    user_id = uuid.uuid4()
    claims = {"sub": str(user_id), "role": "authenticated", "email": "a@b.test"}
    async with db.transaction():
        await db.execute(
            "select set_config('request.jwt.claims', $1, true)", json.dumps(claims)
        )
        assert await db.fetchval("select auth.uid()") == user_id
        assert await db.fetchval("select auth.role()") == "authenticated"
        assert json.loads(await db.fetchval("select auth.jwt()::text")) == claims
    # Outside a request there is no user.
    assert await db.fetchval("select auth.uid()") is None
    assert await db.fetchval("select auth.role()") is None


async def test_auth_users_is_the_owner_table(db):
    columns = {
        row["column_name"]
        for row in await db.fetch(
            "select column_name from information_schema.columns "
            "where table_schema = 'auth' and table_name = 'users'"
        )
    }
    assert {"id", "email", "created_at"} <= columns
