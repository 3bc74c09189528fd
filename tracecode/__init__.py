"""tracecode: find re-used drug traceability codes (药品追溯码) in pharmacy sale uploads."""

__version__ = "0.1.0"
