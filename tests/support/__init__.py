"""Reusable helpers for the test-suite (import them; they are not fixtures by themselves)."""
