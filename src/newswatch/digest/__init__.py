"""Digests: choosing what a channel owes its readers, rendering it and delivering it.

``schedule`` says which slot is owed, ``compose`` turns ledger candidates into a ranked view,
``render`` turns the view into Markdown, text and HTML, ``deliver`` writes files and sends mail,
and ``runner`` ties them to storage with exactly-once bookkeeping.
"""
