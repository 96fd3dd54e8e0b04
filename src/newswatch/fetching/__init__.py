"""Fetching feeds: HTTP with limits and politeness, parsing into plain entries, discovery."""
