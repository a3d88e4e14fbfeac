"""Notifications: templates, rendering, the outbox and its delivery channels."""
