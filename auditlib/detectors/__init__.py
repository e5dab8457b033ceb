"""Built-in detectors, one module per detector named after its id
(``payments_duplicate.py`` holds ``payments.duplicate``). Modules here are
imported by :mod:`auditlib.registry` when the registry is first used."""
