"""The phone gateway service (ingest, detection, sync). Built by later issues."""
