"""Outbound mail adapter: renders queued mail in the member's language and hands it to a relay or a sink."""
