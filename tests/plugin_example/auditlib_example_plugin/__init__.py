"""An example auditlib plugin (see docs/extending.md): detectors live in ``rules``."""
