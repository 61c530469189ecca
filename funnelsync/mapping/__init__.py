"""funnelsync.mapping: raw CRM records ↔ the common funnel schema (no I/O).

schema.py (models), funnel.py (default stage maps), parse.py (value parsers), salesforce.py and
hubspot/ (mappers and write-back payloads; hubspot/catalog.py deal pipelines, hubspot/stages.py
closedness by stage and stage-entry times, hubspot/v1.py legacy v1 objects in the v3 shape),
writeback.py (the write-back rules both payloads share), owners.py, result.py (MapResult,
warnings), normalize.py (the `funnelsync normalize` stream).
"""
