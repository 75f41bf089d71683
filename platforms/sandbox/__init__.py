"""A local imitation of TikTok, YouTube (Google) and Instagram (Facebook Graph).

`Sandbox(seed=42)` is a WSGI app; see `app.Sandbox` and the README section
"Sandbox". No Django import happens here or at request time.
"""

from __future__ import annotations

from .app import Sandbox

__all__ = ["Sandbox"]
