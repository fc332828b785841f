"""The officers' desk: a server-rendered web front on the same database and casework as the CLI."""
