"""What a person reads of a result: tables, notes, Markdown pages, charts, and the files
written. Reads results; never times anything."""
