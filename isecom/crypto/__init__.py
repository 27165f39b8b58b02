"""The only package that imports ``nacl`` (PyNaCl, libsodium). See docs/PROTOCOL.md."""
