"""Facebook Login and the Instagram Graph API (business and creator accounts).

Hosts: www.facebook.com → /facebook-www, graph.facebook.com → /facebook-graph.
Paths are versioned (`/v25.0/...`); any vNN.N is accepted, and no version too.
"""

from __future__ import annotations

from .service import Facebook

__all__ = ["Facebook"]
