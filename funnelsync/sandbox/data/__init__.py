"""Deterministic sandbox data for both CRMs: the same seed and anchor day give the same records."""
