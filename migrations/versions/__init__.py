"""Revisions of dondoc's schema, oldest first."""
