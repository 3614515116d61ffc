"""`lambda-canary diff`: the same requests sent to both sides of a migration, every behavioural difference
reported (corpus -> sides -> observations -> comparison under rules -> table, JSON, HTML)."""

DEFAULT_CONCURRENCY = 8  # requests in flight per side (here, so the command line needs no data plane to name it)
