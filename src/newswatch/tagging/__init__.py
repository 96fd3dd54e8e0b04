"""Tagging articles against topics: the query language, matching, scoring, evidence."""
