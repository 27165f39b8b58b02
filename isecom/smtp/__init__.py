"""SMTP adapter (aiosmtpd): a thin handler over the inbound service."""
