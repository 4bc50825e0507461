"""What is shown of a run, computed without Qt: frames and their pacing, what the points'
colours show, genealogy, population tiles, statistics series and the file readers.
Nothing here imports Qt (tests/test_layering.py checks it), so all of it runs and is
tested without a display."""
