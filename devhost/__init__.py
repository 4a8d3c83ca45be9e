"""Development-only local host: serves the function app and stand-ins for Microsoft endpoints.

Kept out of the deployed package by ``.funcignore``.
"""
