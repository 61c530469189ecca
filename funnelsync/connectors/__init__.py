"""HTTP to the CRMs and nothing else: auth, paging, retries, rate limits, budgets, writes."""
