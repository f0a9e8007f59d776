"""One :class:`~slicer_cloud.core.snapshots.Snapshots` per session, shared by every REST front end."""

from __future__ import annotations

import weakref

from .snapshots import Snapshots

_SHARED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def session_snapshots(session) -> Snapshots:
    """The offscreen snapshot views of ``session`` (created on first use; event-loop thread only)."""
    snapshots = _SHARED.get(session)
    if snapshots is None:
        snapshots = _SHARED[session] = Snapshots(session.app, fingerprint=session.fingerprint)
    return snapshots
