"""The demo shop under `/demo`: an example merchant, kept apart from the platform."""

from __future__ import annotations

from starlette.routing import Route

ROUTES: list[Route] = []
