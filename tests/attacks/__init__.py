"""
The project's own attacker: two users, A and B, against each other, through
every table and every role (``anon``, ``authenticated``, ``service_role``,
the table owner), with raw SQL, upserts, MERGE, COPY and concurrent
connections, plus property-based tests (hypothesis), and over HTTP against
a real ``piccolo planner_app serve`` (``test_http_*.py``: bad input, bounds,
slow clients). docs/security.md has the threat model these tests hold the
database to; docs/api.md the API's limits.
"""
