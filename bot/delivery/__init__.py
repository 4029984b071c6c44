"""The one delivery engine every bulk message goes through (see engine.py)."""
