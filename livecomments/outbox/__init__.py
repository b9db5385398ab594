"""The events outbox: events published by a process that serves no sockets (a management
command) on the in-memory layer, kept in the database the serving process shares.

Only `livecomments.events` reads and writes it; this app holds the table.
"""
