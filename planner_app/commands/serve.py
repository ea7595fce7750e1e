"""
``piccolo planner_app serve``: run the HTTP API (see planner_app/api/).
"""

from __future__ import annotations

from planner_app.commands import CommandError, cli_command


@cli_command
async def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    header_timeout: float | None = None,
    body_timeout: float | None = None,
    send_timeout: float | None = None,
) -> None:
    """
    Serve the planner's HTTP API with uvicorn on the database of
    DATABASE_URL (or the embedded PostgreSQL). Callers authenticate with
    JWTs signed with PLANNER_JWT_SECRET; see docs/api.md.

    :param host:
        The address to listen on (default: loopback only).
    :param port:
        The TCP port to listen on.
    :param header_timeout:
        Seconds a client has to send a request's headers (default 10).
    :param body_timeout:
        Seconds a client has to send a request's body once its headers are
        in (default 10).
    :param send_timeout:
        Seconds a client may leave an answer unread once the server's send
        buffer is full, before the connection is dropped (default 10).
    """
    import dataclasses

    from planner_app.api import ApiConfigError
    from planner_app.api import serve as run
    from planner_app.api.limits import LIMITS

    deadlines = {
        name: value
        for name, value in (
            ("header_timeout", header_timeout),
            ("body_timeout", body_timeout),
            ("send_timeout", send_timeout),
        )
        if value is not None
    }
    for name, value in deadlines.items():
        if not 0 < value <= 300:
            option = name.replace("_", "-")
            raise CommandError(f"--{option} takes seconds from 0 to 300, got {value}")
    try:
        await run(host=host, port=port, limits=dataclasses.replace(LIMITS, **deadlines))
    except ApiConfigError as error:
        raise CommandError(str(error)) from error
