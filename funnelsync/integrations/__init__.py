"""funnelsync inside other tools' pipelines (optional extras; nothing in funnelsync imports these).

- ``funnelsync.integrations.dlt``: the funnel as a dlt source, loadable into any warehouse
  (``pip install "funnelsync[dlt]"``).
"""
