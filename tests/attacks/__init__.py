"""
The project's own attacker: two users, A and B, against each other, through
every table and every role (``anon``, ``authenticated``, ``service_role``,
the table owner), with raw SQL, upserts, MERGE, COPY and concurrent
connections, plus property-based tests (hypothesis). docs/security.md has
the threat model these tests hold the database to.
"""
