"""isecom: end-to-end encrypted mail and knowledge platform for asset-recovery Focal Points."""

__version__ = "0.1.0"
