"""The rule SQL files, shipped inside the package as tracecode.sql."""
