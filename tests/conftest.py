"""Shared test helpers: tests mirror harness/, integration tests start real servers."""
