"""The audit trail: read-only tools that verify, replay and inspect a file journal.

Nothing here takes the journal's ``LOCK`` or writes to its directory, so every
command is safe on a journal a server is writing at the same moment.
See ``docs/audit.md``.
"""
