"""Shared route helpers: the runtime from the request, and body parsing per act."""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from cloud.runtime import Runtime

M = TypeVar("M", bound=BaseModel)


def rt_of(request: Request) -> Runtime:
    """The running cloud."""
    rt: Runtime = request.app.state.rt
    return rt


def parse(model: type[M], data: Any) -> M:
    """Validate a body against a model chosen at run time; errors answer 422 like FastAPI's."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False)) from None
