"""funnelsync.mapping: raw CRM records ↔ the common funnel schema (no I/O).

schema.py (models), funnel.py (default stage maps), parse.py (value parsers),
salesforce.py / hubspot.py / hubspot_catalog.py (mappers and write-back payloads),
writeback.py (the write-back rules both payloads share),
result.py (MapResult), normalize.py (the `funnelsync normalize` stream).
"""
