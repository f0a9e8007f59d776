"""The desktop way: a full X desktop app (Slicer, or the built-in native viewer) in the browser through noVNC.

Front end: imports ``core``, ``auth`` and ``errors``, never ``web`` or ``api``. Wiring root: :mod:`.app`.
"""
