"""Command groups of their own, beside app.py (one module each)."""
