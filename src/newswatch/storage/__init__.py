"""Storage: the only package that speaks SQL. See ``Storage`` for the rules it keeps."""

from newswatch.storage.engine import mask_url
from newswatch.storage.store import FeedSyncResult, Storage, StorageAddress, open_storage

__all__ = ["FeedSyncResult", "Storage", "StorageAddress", "mask_url", "open_storage"]
