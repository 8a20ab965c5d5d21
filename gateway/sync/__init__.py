"""Privacy-preserving sync: aggregates -> outbox -> bucket, and models back (``docs/sync.md``)."""
