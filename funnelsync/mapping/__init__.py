"""funnelsync.mapping: raw CRM records ↔ the common funnel schema (no I/O).

schema.py (models), funnel.py (default stage maps), parse.py (value parsers), salesforce.py /
hubspot.py (mappers and write-back payloads), writeback.py (the write-back rules both payloads
share), hubspot_catalog.py (deal pipelines), hubspot_stages.py (closedness by stage, stage-entry
times), hubspot_v1.py (legacy v1 objects in the v3 shape), result.py (MapResult, warnings),
normalize.py (the `funnelsync normalize` stream).
"""
