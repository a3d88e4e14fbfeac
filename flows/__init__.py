"""Prefect flows: thin orchestration over the domain commands in `models`."""
