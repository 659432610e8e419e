"""Signed webhooks (Standard Webhooks): endpoints, the outbox of messages, every attempt."""
