-- The roles of a hosted Supabase database, run once per cluster by the
-- bootstrap superuser supabase_admin (initdb --username supabase_admin): it
-- stays the only superuser.

-- The role a project's migrations run as: not a superuser.
create role postgres
  login inherit createrole createdb replication bypassrls nosuperuser;
alter role postgres set search_path = "$user", public, extensions;

-- The API roles PostgREST switches to.
create role anon nologin inherit nosuperuser nobypassrls;
alter role anon set statement_timeout = '3s';
create role authenticated nologin inherit nosuperuser nobypassrls;
alter role authenticated set statement_timeout = '8s';
create role service_role nologin inherit nosuperuser bypassrls;

-- PostgREST logs in as authenticator and SET ROLEs to the JWT's role.
create role authenticator login noinherit nosuperuser nobypassrls;
grant anon, authenticated, service_role to authenticator;

grant anon, authenticated, service_role to postgres;
grant pg_read_all_data, pg_monitor, pg_signal_backend to postgres;

-- GoTrue's role: owns auth.users and the auth functions.
create role supabase_auth_admin
  login noinherit createrole noreplication nosuperuser nobypassrls;
alter role supabase_auth_admin set search_path = auth;
