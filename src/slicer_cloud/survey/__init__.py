"""Forum survey: mine a Discourse forum for questions about using Slicer remotely and group the links they cite.

``slicer-cloud survey`` (:mod:`.cli`) collects topics through the forum's public JSON endpoints (:mod:`.client`),
decides relevance with data-file rules (:mod:`.relevance`, ``data/rules.yaml``), normalises and classifies the links
with the technology catalog (:mod:`.links`, ``data/catalog.yaml``) and writes tables, a report and charts
(:mod:`.report`, :mod:`.charts`).
"""

DEFAULT_FORUM = "https://discourse.slicer.org"
DEFAULT_KEYWORDS: tuple[str, ...] = ("web", "cloud", "internet", "remote")
