"""The report stage: what a run found, shown or written for people and programs.

- :mod:`.text`: the sets in fdupes's layout, the query's matches, the -m summary;
- :mod:`.json_report`: ``--json``, the document ``apply`` and ``review`` read back;
- :mod:`.csv_report`: ``--csv``, one row per file;
- :mod:`.html_report`: ``--html``, one self-contained page (its CSS and JS are
  package data files next to it);
- :mod:`.tiles`: ``-c``, the sets as tiled pictures in the terminal;
- :mod:`.logs`: the seed's ``--log`` files;
- :mod:`.formatting`: what they share (safe names, one set's lines, file sizes).

Each reads only the :class:`~imgdupes.model.Result` (and the plan's marks).
"""
