"""Webmail HTTP adapter: pages, JSON API, templates and static files for the browser."""
