"""
``piccolo planner_app serve``: run the HTTP API (see planner_app/api/).
"""

from __future__ import annotations

from planner_app.commands import CommandError, cli_command


@cli_command
async def serve(host: str = "127.0.0.1", port: int = 8000) -> None:
    """
    Serve the planner's HTTP API with uvicorn on the database of
    DATABASE_URL (or the embedded PostgreSQL). Callers authenticate with
    JWTs signed with PLANNER_JWT_SECRET; see docs/api.md.

    :param host:
        The address to listen on (default: loopback only).
    :param port:
        The TCP port to listen on.
    """
    from planner_app.api import ApiConfigError
    from planner_app.api import serve as run

    try:
        await run(host=host, port=port)
    except ApiConfigError as error:
        raise CommandError(str(error)) from error
