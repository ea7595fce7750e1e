"""
The Supabase-faithful test database (see ``cluster.py`` and
``docs/security.md``, "Supabase fidelity") and the tests that run on it,
PostgREST included.
"""
