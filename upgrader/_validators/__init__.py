"""Validators generated from the shipped JSON Schemas (`make validators`); see validation.check."""
