"""Employees link their personal Microsoft account (MSA): start sign-in, callback, read, unlink."""

from __future__ import annotations

import azure.functions as func

bp = func.Blueprint()
