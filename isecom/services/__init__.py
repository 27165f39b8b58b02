"""Domain services: no web, database or SMTP framework imports (see README.md)."""
