"""auditlib: the eagle eye (鹰眼) for public-finance audit.

Load a data directory per the data contract, run the registered detectors,
and get alerts that explain themselves in Chinese and English.
"""

from __future__ import annotations

__version__ = "0.1.0"
