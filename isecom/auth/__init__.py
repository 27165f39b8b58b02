"""The only package that imports ``pyotp``."""
