"""Persistence: the engine and its sessions, bulk writes, and the database migrations."""
