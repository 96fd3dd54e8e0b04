"""newswatch: a news-tracking monitor.

It pulls RSS/Atom/JSON feeds, turns entries into clean articles, tags them against the topics of a
briefing, stores them, and delivers digests as Markdown files and email.
"""

import logging

__version__ = "0.1.0.dev0"

# The library only emits records; the CLI and the daemon decide where they go.
logging.getLogger(__name__).addHandler(logging.NullHandler())
