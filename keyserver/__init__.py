"""Keyserver HTTP adapter: key directory and transparency log, mounted at ``/keys``."""
