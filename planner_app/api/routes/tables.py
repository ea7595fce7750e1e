"""
``/api/<table>/``: the eight domain tables, read and write, and
``audit_log``, read only, through piccolo-api's ``FastAPIWrapper`` and
:class:`planner_app.api.crud.PlannerCRUD`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from piccolo_api.fastapi.endpoints import FastAPIWrapper

from planner_app.api.crud import PlannerCRUD
from planner_app.api.transaction import API_PREFIX
from planner_app.tables import DOMAIN_TABLES, AuditLog

LEFT_OUT = ("/new/", "/ids/")
"""piccolo-api's helpers this API does not offer: ``new`` returns
client-side defaults, but the database chooses ids, timestamps and derived
columns; ``ids`` lists every id the caller may see in one unpaged answer
(page through ``GET /api/<table>/?__visible_fields=id`` instead)."""


class TableRouter(APIRouter):
    """An ``APIRouter`` that does not register the :data:`LEFT_OUT` routes
    ``FastAPIWrapper`` adds."""

    def add_api_route(
        self, path: str, endpoint: Callable[..., Any], **kwargs: Any
    ) -> None:
        if path.endswith(LEFT_OUT):
            return
        super().add_api_route(path, endpoint, **kwargs)


router = TableRouter(tags=["tables"])
for _table in (*DOMAIN_TABLES, AuditLog):
    FastAPIWrapper(
        f"{API_PREFIX}/{_table._meta.tablename}/",
        router,
        PlannerCRUD(_table, read_only=_table is AuditLog),
    )
