"""The journal engine (pure): entries, statistics, pattern memory, insights, summaries, imports.

Modules: :mod:`.periods` (trading day/week bounds), :mod:`.linking` (entries <-> trades),
:mod:`.entries` (prompts, ownership, edits), :mod:`.stats`, :mod:`.memory`,
:mod:`.insights`, :mod:`.summary`, :mod:`.importers` (MT5 HTML, generic CSV, own CSV).
Nothing here reads the clock or touches storage: time and data come in as arguments.
"""
