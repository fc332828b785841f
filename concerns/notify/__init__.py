"""Telling people: the daily deadline check, the outbox and its delivery, alarms and who holds which role."""
