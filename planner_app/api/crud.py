"""
The tables over HTTP: piccolo-api's ``PiccoloCRUD``, extended where its
public surface allows and overridden where it must be (``docs/api.md``,
"Tables").

- Query parameters are checked by a ``Validators`` hook (piccolo-api's own
  extension point) before PiccoloCRUD reads them: bounded pages, known
  columns, valid filter values.
- The write endpoints (``post_single``, ``put_single``, ``patch_single``,
  ``delete_single``) and ``detail`` are replaced: writes run in a savepoint
  (:func:`planner_app.api.writes.guarded`) and raise the project's
  exceptions instead of piccolo-api's generic 422 with the database's text;
  POST fills ``user_id`` with the caller's and answers with the stored row.
- The Pydantic models, which piccolo-api builds on every access, are built
  once per table.

``tests/api/test_crud.py`` pins every piccolo-api name used here, so an
upgrade that changes one fails there first.
"""

from __future__ import annotations

import collections
import functools
from typing import Any

import pydantic
from piccolo.columns import (
    BigInt,
    BigSerial,
    Column,
    Integer,
    Serial,
    SmallInt,
)
from piccolo.table import Table
from piccolo_api.crud.endpoints import CustomJSONResponse, PiccoloCRUD
from piccolo_api.crud.validators import Validators
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from planner_app.api.body import strict_json
from planner_app.api.limits import LIMITS, InvalidRequestError
from planner_app.api.problems import caller_of
from planner_app.api.writes import guarded
from planner_app.errors import NotFoundError, ValidationError

# Query parameters that PiccoloCRUD reads as one value.
_ONCE = ("__operator", "__match")
# PiccoloCRUD's own parameters that the API answers; any other "__" name
# (its __range_header and __range_header_name, which would copy the client's
# text into a response header) is refused.
_KNOWN = frozenset(
    {"__page", "__page_size", "__order", "__visible_fields", "__readable"}
)


def _whole_number(params: dict[str, str], name: str, low: int, high: int) -> None:
    if name not in params:
        return
    value = params[name]
    if not (value.isdigit() and low <= int(value) <= high):
        raise HTTPException(422, f"{name} must be a whole number from {low} to {high}")


def check_query(request: Request, piccolo_crud: PiccoloCRUD) -> None:
    """
    A ``Validators`` hook for the reading endpoints: every query parameter
    is one PiccoloCRUD can answer without a 5xx or a database error.

    :raises HTTPException:
        400 for a parameter given twice or an unknown column, 422 for an
        out-of-range page or an invalid filter value.
    """
    items = request.query_params.multi_items()
    for key, times in collections.Counter(key for key, _ in items).items():
        if key.startswith("__") and key not in _KNOWN:
            raise HTTPException(400, f"unknown query parameter {key!r}")
        if times > 1 and (key.startswith("__") or key.endswith(_ONCE)):
            raise HTTPException(400, f"{key} may be given only once")
    params = dict(items)
    _whole_number(params, "__page", 1, LIMITS.max_page)
    _whole_number(params, "__page_size", 1, LIMITS.max_page_size)
    if "__order" in params:
        for name in params["__order"].split(","):
            if name.removeprefix("-") not in piccolo_crud.visible_fields_options:
                raise HTTPException(400, f"__order: unknown column {name!r}")
    # The filters as PiccoloCRUD reads them: "null" is NULL, a key given
    # more than once (or as key[]) a list.
    grouped: dict[str, list[str | None]] = {}
    for key, value in items:
        if not (key.startswith("__") or key.endswith(_ONCE)):
            cleaned = None if value.lower() == "null" else value
            grouped.setdefault(key.removesuffix("[]"), []).append(cleaned)
    fields = {
        name: values if len(values) > 1 or f"{name}[]" in params else values[0]
        for name, values in grouped.items()
    }
    try:
        piccolo_crud.pydantic_model_filters(**fields)
    except pydantic.ValidationError as error:
        raise HTTPException(
            422, error.errors(include_url=False, include_context=False)
        ) from None


def _bits(column: Column) -> int | None:
    """The width of an integer column (PostgreSQL's int2, int4, int8)."""
    for kind, bits in ((SmallInt, 16), (BigInt, 64), (BigSerial, 64)):
        if isinstance(column, kind):
            return bits
    return 32 if isinstance(column, Integer | Serial) else None


def _strict_json_text(value: Any, info: pydantic.ValidationInfo) -> Any:
    if isinstance(value, str):
        try:
            strict_json(value, LIMITS.max_json_depth, what=str(info.field_name))
        except InvalidRequestError as error:
            raise ValueError(error.message) from None
    return value


def strict_model(
    model: type[pydantic.BaseModel], table: type[Table]
) -> type[pydantic.BaseModel]:
    """
    ``model`` taking only values the database can store, checked before
    piccolo-api or the database see them: integers within their column's
    width, and JSON columns (text holding JSON, piccolo-api's convention)
    holding JSON :func:`planner_app.api.body.strict_json` accepts.
    """
    validators: dict[str, Any] = {}
    fields = model.model_fields
    json_names = [
        c._meta.name for c in table._meta.json_columns if c._meta.name in fields
    ]
    if json_names:
        validators["strict_json"] = pydantic.field_validator(
            *json_names, mode="before"
        )(_strict_json_text)
    for column in table._meta.columns:
        bits, name = _bits(column), column._meta.name
        if bits is None or name not in fields:
            continue
        low, high = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1

        def in_range(value: Any, low: int = low, high: int = high) -> Any:
            if isinstance(value, int) and not low <= value <= high:
                raise ValueError(f"must be a whole number from {low} to {high}")
            return value

        validators[f"{name}_in_range"] = pydantic.field_validator(name)(in_range)
    if not validators:
        return model
    return pydantic.create_model(
        model.__name__, __base__=model, __validators__=validators
    )


_QUERY_CHECKS = Validators(
    get_all=[check_query], get_count=[check_query], get_single=[check_query]
)


class PlannerCRUD(PiccoloCRUD):
    """
    ``PiccoloCRUD`` whose writes run in a savepoint and raise the project's
    exceptions, whose reads accept only queries they can answer, and whose
    POST fills ``user_id`` with the caller's when it is left out and answers
    with the created row.
    """

    max_page_size = LIMITS.max_page_size

    def __init__(self, table: type[Table], *, read_only: bool) -> None:
        super().__init__(
            table, read_only=read_only, max_joins=0, validators=_QUERY_CHECKS
        )

    # piccolo-api builds its Pydantic models on every access; they depend
    # only on the table, so build each once. The models of input take only
    # values the database can store (:func:`strict_model`).
    @functools.cached_property
    def pydantic_model(self) -> type[pydantic.BaseModel]:
        return strict_model(super().pydantic_model, self.table)

    @functools.cached_property
    def pydantic_model_output(self) -> type[pydantic.BaseModel]:
        return super().pydantic_model_output

    @functools.cached_property
    def pydantic_model_optional(self) -> type[pydantic.BaseModel]:
        return strict_model(super().pydantic_model_optional, self.table)

    @functools.cached_property
    def pydantic_model_filters(self) -> type[pydantic.BaseModel]:
        return strict_model(super().pydantic_model_filters, self.table)

    def pydantic_model_plural(
        self,
        include_readable: bool = False,
        include_columns: tuple = (),
        nested: Any = False,
    ) -> type[pydantic.BaseModel]:
        key = (include_readable, include_columns, nested)
        cache = self.__dict__.setdefault("_plural_models", {})
        if key not in cache:
            cache[key] = super().pydantic_model_plural(*key)
        return cache[key]

    def _row_id(self, request: Request) -> Any:
        raw = request.path_params.get("row_id", "")
        try:
            return self.table._meta.primary_key.value_type(raw)
        except ValueError as error:
            raise ValidationError(f"{raw!r} is not a valid id") from error

    def _values(self, model: type[pydantic.BaseModel], data: Any) -> dict[str, Any]:
        """The columns a body sets, validated; unknown columns are refused."""
        if not isinstance(data, dict):
            raise ValidationError("the body must be a JSON object")
        unknown = sorted(set(data) - set(model.model_fields))
        if unknown:
            raise ValidationError(
                f"unknown or read-only column(s): {', '.join(unknown)}"
            )
        try:
            parsed = model(**data)
        except pydantic.ValidationError as error:
            raise ValidationError(
                "the body is not valid",
                errors=error.errors(include_url=False, include_context=False),
            ) from None
        return {name: getattr(parsed, name) for name in data}

    async def _row(self, row_id: Any) -> dict[str, Any]:
        row = (
            await self.table.select(exclude_secrets=self.exclude_secrets)
            .where(self.table._meta.primary_key == row_id)
            .first()
            .run()
        )
        if row is None:
            raise NotFoundError("no such row")
        return row

    def _output(self, row: dict[str, Any], status_code: int = 200) -> Response:
        return CustomJSONResponse(
            self.pydantic_model_output(**row).model_dump_json(),
            status_code=status_code,
        )

    async def detail(self, request: Request) -> Response:
        row_id = self._row_id(request)
        primary_key = self.table._meta.primary_key
        if not await self.table.exists().where(primary_key == row_id).run():
            raise NotFoundError("no such row (or it belongs to another user)")
        if request.method == "GET":
            return await self.get_single(request, row_id)
        if request.method == "DELETE":
            return await self.delete_single(request, row_id)
        data = await request.json()
        if request.method == "PUT":
            return await self.put_single(request, row_id, data)
        return await self.patch_single(request, row_id, data)

    async def post_single(self, request: Request, data: dict[str, Any]) -> Response:
        values = self._values(self.pydantic_model, data)
        caller = caller_of(request)
        if values.get("user_id") is None and caller.user_id is not None:
            values["user_id"] = caller.user_id
        try:
            row = self.table(**values)
        except ValueError as error:  # a required column left out
            raise ValidationError(str(error)) from error
        saved = await guarded(lambda: row.save().run(), self._references(values))
        primary_key = self.table._meta.primary_key._meta.name
        return self._output(await self._row(saved[0][primary_key]), 201)

    async def put_single(
        self, request: Request, row_id: Any, data: dict[str, Any]
    ) -> Response:
        await self._update(row_id, self._values(self.pydantic_model, data))
        return Response(status_code=204)

    async def patch_single(
        self, request: Request, row_id: Any, data: dict[str, Any]
    ) -> Response:
        await self._update(row_id, self._values(self.pydantic_model_optional, data))
        return self._output(await self._row(row_id))

    def _references(self, values: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
        return tuple(
            (
                column._foreign_key_meta.resolved_references._meta.tablename,
                values[column._meta.name],
            )
            for column in self.table._meta.foreign_key_columns
            if column._meta.name in values
        )

    async def _update(self, row_id: Any, values: dict[str, Any]) -> None:
        if not values:
            return
        table = self.table
        await guarded(
            lambda: (
                table.update({getattr(table, k): v for k, v in values.items()})
                .where(table._meta.primary_key == row_id)
                .run()
            ),
            self._references(values),
        )

    async def delete_single(self, request: Request, row_id: Any) -> Response:
        table = self.table
        await guarded(
            lambda: table.delete().where(table._meta.primary_key == row_id).run()
        )
        return Response(status_code=204)
