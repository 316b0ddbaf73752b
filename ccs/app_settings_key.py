"""The composition root's own key for the whole settings object: only ``ccs`` modules read it;
handlers get components built with their section (``agent_api/app_keys.py``)."""
from __future__ import annotations

from aiohttp import web

from ccs.settings import Settings

SETTINGS = web.AppKey("settings", Settings)
